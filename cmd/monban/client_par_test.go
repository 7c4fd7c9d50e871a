package main

import (
	"strings"
	"testing"
)

// TestClientRequirePAR: "client add --require-par" and "client update
// --require-par=BOOL" set require_pushed_authorization_requests (RFC 9126
// §6), shown by "client show"; a client without the authorization_code
// grant is refused the setting, naming the flag.
func TestClientRequirePAR(t *testing.T) {
	env, st := dbEnv(t)
	ctx := t.Context()
	mustRun(t, env, "", "client", "add", "--id", "strict", "--name", "Strict", "--redirect-uri", "https://strict.example/cb", "--require-par")
	if c, _ := st.GetClient(ctx, "strict"); c == nil || !c.RequirePAR {
		t.Fatalf("client add --require-par: %+v", c)
	}
	var shown clientJSON
	decodeJSON(t, mustRun(t, env, "", "client", "show", "strict", "--output", "json").stdout, &shown)
	if !shown.RequirePAR {
		t.Error("client show --output json: require_pushed_authorization_requests is false")
	}
	mustRun(t, env, "", "client", "update", "strict", "--require-par=false")
	if c, _ := st.GetClient(ctx, "strict"); c.RequirePAR {
		t.Fatal("client update --require-par=false kept the rule")
	}
	r := runCLI(t, env, "", "client", "add", "--id", "machine", "--name", "Machine", "--grant", "client_credentials", "--require-par")
	if r.code == 0 || !strings.Contains(r.stderr, "--require-par") {
		t.Errorf("--require-par without the code grant: exit %d, stderr %q", r.code, r.stderr)
	}
}
