// Package deploy_test checks the deployment files, so that CI catches a
// YAML syntax error or a chart template referring to a value that does
// not exist. (There is no Docker engine or Helm in CI; the files are
// parsed, not run.)
package deploy_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// yamlFiles returns every .yaml and .yml file under the deploy directory.
func yamlFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// isTemplate reports whether path is a Helm template (Go template syntax).
func isTemplate(path string) bool {
	return slices.Contains(strings.Split(filepath.ToSlash(path), "/"), "templates")
}

var (
	// action is one template action, {{ … }}.
	action = regexp.MustCompile(`\{\{-?\s*(.*?)\s*-?\}\}`)
	// controlLine is a line holding only actions (if, with, range, end,
	// include … | nindent): dropped before parsing.
	controlLine = regexp.MustCompile(`^\s*(\{\{.*?\}\}\s*)+$`)
	// valuesRef is a reference to a chart value.
	valuesRef = regexp.MustCompile(`\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)`)
)

// render makes a Helm template parseable: lines of only actions go, every
// other action becomes a placeholder scalar.
func render(src string) string {
	var out []string
	for _, l := range strings.Split(src, "\n") {
		if controlLine.MatchString(l) {
			continue
		}
		out = append(out, action.ReplaceAllString(l, "placeholder"))
	}
	return strings.Join(out, "\n")
}

// checkActions reports unbalanced delimiters and blocks in a template.
func checkActions(t *testing.T, src string) {
	t.Helper()
	if o, c := strings.Count(src, "{{"), strings.Count(src, "}}"); o != c {
		t.Fatalf("%d {{ but %d }}", o, c)
	}
	depth := 0
	for _, m := range action.FindAllStringSubmatch(src, -1) {
		word, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(m[1], "/*")), " ")
		switch word {
		case "if", "with", "range", "define", "block":
			depth++
		case "end":
			depth--
		}
		if depth < 0 {
			t.Fatal("{{ end }} without a block")
		}
	}
	if depth != 0 {
		t.Fatalf("%d blocks not closed", depth)
	}
}

// TestYAMLParses parses every YAML file under deploy/: strictly for plain
// files, after the substitution of render for Helm templates.
func TestYAMLParses(t *testing.T) {
	files := yamlFiles(t)
	for _, want := range []string{"compose.yaml", "helm/monban/Chart.yaml", "helm/monban/values.yaml",
		"helm/monban/templates/deployment.yaml"} {
		if !slices.Contains(files, filepath.FromSlash(want)) {
			t.Errorf("%s is missing", want)
		}
	}
	for _, path := range files {
		t.Run(filepath.ToSlash(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			src := string(b)
			if strings.TrimSpace(src) == "" {
				t.Fatal("empty")
			}
			if isTemplate(path) {
				checkActions(t, src)
				src = render(src)
			}
			var doc map[string]any
			if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			if len(doc) == 0 {
				t.Fatal("no top-level keys")
			}
		})
	}
}

// TestHelmValuesExist: every .Values path a template uses is in
// values.yaml, so a typo fails here instead of rendering as empty.
func TestHelmValuesExist(t *testing.T) {
	b, err := os.ReadFile("helm/monban/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(b, &values); err != nil {
		t.Fatal(err)
	}
	templates, err := filepath.Glob("helm/monban/templates/*")
	if err != nil || len(templates) == 0 {
		t.Fatalf("no templates (%v)", err)
	}
	for _, path := range templates {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range valuesRef.FindAllStringSubmatch(string(src), -1) {
			var cur any = values
			for _, key := range strings.Split(strings.TrimPrefix(m[1], "."), ".") {
				mp, ok := cur.(map[string]any)
				if !ok {
					t.Errorf("%s: .Values%s: %q is not a mapping", path, m[1], key)
					break
				}
				if cur, ok = mp[key]; !ok {
					t.Errorf("%s: .Values%s is not in values.yaml", path, m[1])
					break
				}
			}
		}
	}
}

// TestComposeReplicas: the compose file runs PostgreSQL, a migration, two
// replicas and a load balancer, and the replicas' management listeners
// are reachable inside the network.
func TestComposeReplicas(t *testing.T) {
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		service string
		command string
	}{
		{"migration", "migrate", "migrate up"},
		{"replica-1", "monban-1", "serve"},
		{"replica-2", "monban-2", "serve"},
		{"database", "postgres", ""},
		{"load-balancer", "lb", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := doc.Services[tc.service]
			if !ok {
				t.Fatalf("no service %s", tc.service)
			}
			if tc.command == "" {
				return
			}
			if got := strings.Join(s.Command, " "); got != tc.command {
				t.Fatalf("command %q, want %q", got, tc.command)
			}
			if s.Environment["MONBAN_MANAGEMENT_LISTEN"] != ":9090" || s.Environment["MONBAN_ISSUER"] == "" {
				t.Fatalf("environment %v", s.Environment)
			}
		})
	}
}
