package main

import (
	"os"
	"strings"
	"testing"
)

// TestRevocationCost: the revocations' own cost comes from the idle
// scenarios (here 1 ms of server and 2 ms of PostgreSQL CPU per
// revocation) and is taken out of the revoking run's CPU per iteration.
func TestRevocationCost(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Idle, quiet: 1 ms/s of server CPU, nothing in PostgreSQL. Idle,
	// revoking: 100 revocations/s add 100 ms/s and 200 ms/s.
	quiet := write("quiet.json", `{"results":[
		{"scenario":"idle","iterations":1000,"seconds":10,"server_cpu_ms_per_iteration":0.01},
		{"scenario":"introspection","iterations":10000,"seconds":10,"server_cpu_ms_per_iteration":0.1,"pg_cpu_ms_per_iteration":0.04}]}`)
	revoking := write("revoking.json", `{"results":[
		{"scenario":"idle","iterations":1000,"seconds":10,"server_cpu_ms_per_iteration":1.01,"pg_cpu_ms_per_iteration":2,"revocations":1000},
		{"scenario":"introspection","iterations":10000,"seconds":10,"server_cpu_ms_per_iteration":0.2,"pg_cpu_ms_per_iteration":0.24,"revocations":1000}]}`)
	var out strings.Builder
	if err := revocationCost(quiet+","+revoking, &out); err != nil {
		t.Fatal(err)
	}
	// 1,000 revocations over 10,000 iterations: 0.1 ms and 0.2 ms of
	// their own per iteration, so the net cost equals the quiet one.
	for _, want := range []string{"server 1.000 ms, PostgreSQL 2.000 ms", "0.100     0.040      1.00"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, bad := range []string{quiet, quiet + "," + quiet, quiet + "," + dir + "/missing.json"} {
		if err := revocationCost(bad, &out); err == nil {
			t.Errorf("revocationCost(%q) succeeded", bad)
		}
	}
}
