package main

import (
	"os"
	"strings"
	"testing"
)

func TestParseSides(t *testing.T) {
	for _, tc := range []struct {
		name, arg string
		labels    []string // nil: refused
	}{
		{name: "two files", arg: "a.json,b.json", labels: []string{"", ""}},
		{name: "labelled", arg: "monban=m*.json,zitadel=z*.json,oidc-provider=o*.json",
			labels: []string{"monban", "zitadel", "oidc-provider"}},
		{name: "two labelled", arg: "monban=a.json,zitadel=b.json", labels: []string{"monban", "zitadel"}},
		{name: "one file", arg: "a.json"},
		{name: "three unlabelled", arg: "a.json,b.json,c.json"},
		{name: "mixed", arg: "monban=a.json,b.json"},
		{name: "empty label", arg: "=a.json,b=b.json"},
		{name: "empty pattern", arg: "a=,b=b.json"},
		{name: "empty side", arg: "a.json,"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sides, err := parseSides(tc.arg)
			if tc.labels == nil {
				if err == nil {
					t.Fatalf("parseSides(%q) accepted it: %+v", tc.arg, sides)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range sides {
				got = append(got, s.label)
			}
			if strings.Join(got, "|") != strings.Join(tc.labels, "|") {
				t.Errorf("labels = %q, want %q", got, tc.labels)
			}
		})
	}
}

func TestFastest(t *testing.T) {
	zitadel := side{label: "zitadel", results: []Result{{Scenario: "refresh", PerSecond: 1000},
		{Scenario: "client_credentials", PerSecond: 6000}, {Scenario: "introspection", PerSecond: 9000, Errors: 3}}}
	op := side{label: "oidc-provider", results: []Result{{Scenario: "refresh", PerSecond: 2000},
		{Scenario: "client_credentials", PerSecond: 5000}, {Scenario: "introspection", PerSecond: 4000}, {Scenario: "sso", PerSecond: 500}}}
	refs := []side{zitadel, op}
	for _, tc := range []struct {
		name, scenario string
		want           int
	}{
		{name: "second is faster", scenario: "refresh", want: 1},
		{name: "first is faster", scenario: "client_credentials", want: 0},
		{name: "a run with errors does not count", scenario: "introspection", want: 1},
		{name: "only one ran it", scenario: "sso", want: 1},
		{name: "nobody ran it", scenario: "password", want: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fastest(refs, tc.scenario); got != tc.want {
				t.Errorf("fastest(%s) = %d, want %d", tc.scenario, got, tc.want)
			}
		})
	}
}

// TestCompareMany: monban against two references, each flow's ratio to
// the faster one, with the CPU per iteration of every side.
func TestCompareMany(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"m-refresh.json": `{"results":[{"scenario":"refresh","per_second":600,"server_cpu_ms_per_iteration":1.42,"pg_cpu_ms_per_iteration":0.63}]}`,
		"m-sso.json":     `{"results":[{"scenario":"sso","per_second":400,"server_cpu_ms_per_iteration":2}]}`,
		"m-cc.json":      `{"results":[{"scenario":"client_credentials","per_second":5000}]}`,
		"z.json":         `{"results":[{"scenario":"refresh","per_second":1000,"server_cpu_ms_per_iteration":1.03}]}`,
		"o.json": `{"results":[{"scenario":"refresh","per_second":1500,"server_cpu_ms_per_iteration":0.69},` +
			`{"scenario":"sso","per_second":500,"server_cpu_ms_per_iteration":1.49}]}`,
	} {
		if err := os.WriteFile(dir+"/"+name, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var out strings.Builder
	if err := compare("monban="+dir+"/m-*.json,zitadel="+dir+"/z.json,oidc-provider="+dir+"/o.json", &out); err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = l
		}
	}
	for scenario, want := range map[string][]string{
		"scenario":           {"monban", "zitadel", "oidc-provider", "faster", "ratio"},
		"refresh":            {"600", "1000", "1500", "oidc-provider", "0.40", "1.420 + 0.630", "1.030", "0.690"},
		"sso":                {"400", "-", "500", "oidc-provider", "0.80", "2.000", "1.490"},
		"client_credentials": {"5000", "none"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[scenario], w) {
				t.Errorf("line %q lacks %q; printed:\n%s", scenario, w, out.String())
			}
		}
	}
}
