package main

import (
	"slices"
	"strings"
	"testing"
)

// TestClientServiceAccount: "client add --service-account" registers an
// admin API caller (issue 20): confidential, client_credentials only,
// admin:read unless --scope says otherwise; admin scopes on any other
// client are refused, naming the flag.
func TestClientServiceAccount(t *testing.T) {
	env, st := dbEnv(t)
	ctx := t.Context()
	out := mustRun(t, env, "", "client", "add", "--id", "ci", "--name", "CI", "--service-account", "--output", "json").stdout
	var shown clientJSON
	decodeJSON(t, out, &shown)
	if shown.ClientSecret == "" {
		t.Error("no secret shown for the service account")
	}
	c, _ := st.GetClient(ctx, "ci")
	if c == nil || !slices.Equal(c.GrantTypes, []string{"client_credentials"}) || !slices.Equal(c.Scopes, []string{"admin:read"}) || c.Public() {
		t.Fatalf("service account %+v", c)
	}
	mustRun(t, env, "", "client", "add", "--id", "deploy", "--name", "Deploy", "--service-account", "--scope", "admin:clients admin:groups")
	if c, _ := st.GetClient(ctx, "deploy"); c == nil || !slices.Equal(c.Scopes, []string{"admin:clients", "admin:groups"}) {
		t.Fatalf("service account with --scope: %+v", c)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"public", []string{"--id", "p", "--name", "P", "--service-account", "--public"}, "--public"},
		{"with --grant", []string{"--id", "g", "--name", "G", "--service-account", "--grant", "authorization_code"}, "--grant"},
		{"admin scope on a web client", []string{"--id", "w", "--name", "W", "--redirect-uri", "https://w.example/cb", "--scope", "openid admin:write"}, "--scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, env, "", append([]string{"client", "add"}, tc.args...)...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q, want a refusal naming %s", r.code, r.stderr, tc.want)
			}
		})
	}
}
