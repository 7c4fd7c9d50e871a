package main

import (
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// TestClientRegistrationToken: "client registration-token" prints an
// initial access token once and stores only its hash, with the uses and
// lifetime asked for; bad limits are usage errors.
func TestClientRegistrationToken(t *testing.T) {
	env, st := dbEnv(t)
	ctx := t.Context()
	var out struct {
		Token     string    `json:"initial_access_token"`
		Uses      int       `json:"uses"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	before := time.Now()
	decodeJSON(t, mustRun(t, env, "", "client", "registration-token", "--ttl", "2h", "--uses", "3", "--output", "json").stdout, &out)
	if out.Token == "" || out.Uses != 3 || out.ExpiresAt.Before(before.Add(2*time.Hour-time.Minute)) || out.ExpiresAt.After(time.Now().Add(2*time.Hour)) {
		t.Fatalf("registration-token: %+v", out)
	}
	got, err := st.GetInitialAccessToken(ctx, storage.HashToken(out.Token), time.Now())
	if err != nil || got.UsesLeft != 3 || got.TokenHash == out.Token {
		t.Fatalf("stored token %+v, %v", got, err)
	}
	text := mustRun(t, env, "", "client", "registration-token").stdout
	if !strings.Contains(text, "Initial access token: ") || !strings.Contains(text, "dynamic_registration is off") {
		t.Errorf("text output %q", text)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"zero uses", []string{"--uses", "0"}, "--uses"},
		{"too many uses", []string{"--uses", "1001"}, "--uses"},
		{"negative ttl", []string{"--ttl", "-1h"}, "--ttl"},
		{"ttl too long", []string{"--ttl", "721h"}, "--ttl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, env, "", append([]string{"client", "registration-token"}, tc.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 naming %s", r.code, r.stderr, tc.want)
			}
		})
	}
}

// TestClientTokenExchangeAudience: "client add/update
// --token-exchange-audience" set the audiences of token exchange,
// validated by the client policy (https URLs or URNs, with the grant).
func TestClientTokenExchangeAudience(t *testing.T) {
	env, st := dbEnv(t)
	ctx := t.Context()
	grants := "client_credentials," + clientpolicy.GrantTokenExchange
	mustRun(t, env, "", "client", "add", "--id", "gw", "--name", "Gateway", "--grant", grants, "--scope", "api",
		"--token-exchange-audience", "https://api.example/orders", "--token-exchange-audience", "urn:example:billing")
	if c, _ := st.GetClient(ctx, "gw"); c == nil || len(c.TokenExchangeAudiences) != 2 || c.TokenExchangeAudiences[1] != "urn:example:billing" {
		t.Fatalf("client add: %+v", c)
	}
	var shown clientJSON
	decodeJSON(t, mustRun(t, env, "", "client", "show", "gw", "--output", "json").stdout, &shown)
	if len(shown.TokenExchangeAudiences) != 2 {
		t.Errorf("client show: token_exchange_audiences = %v", shown.TokenExchangeAudiences)
	}
	mustRun(t, env, "", "client", "update", "gw", "--token-exchange-audience", "https://api.example/other")
	if c, _ := st.GetClient(ctx, "gw"); len(c.TokenExchangeAudiences) != 1 || c.TokenExchangeAudiences[0] != "https://api.example/other" {
		t.Errorf("client update replaced the list with %v", c.TokenExchangeAudiences)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"http audience", []string{"client", "update", "gw", "--token-exchange-audience", "http://api.example/"}},
		{"fragment", []string{"client", "update", "gw", "--token-exchange-audience", "https://api.example/#x"}},
		{"not a URL", []string{"client", "update", "gw", "--token-exchange-audience", "orders"}},
		{"cleared while the grant stays", []string{"client", "update", "gw", "--token-exchange-audience", ""}},
		{"audience without the grant", []string{"client", "add", "--id", "x", "--name", "X", "--grant", "client_credentials",
			"--scope", "api", "--token-exchange-audience", "https://api.example/"}},
		{"public client", []string{"client", "add", "--id", "y", "--name", "Y", "--public", "--grant",
			"authorization_code," + clientpolicy.GrantTokenExchange, "--redirect-uri", "https://y.example/cb",
			"--token-exchange-audience", "https://api.example/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, env, "", tc.args...)
			if r.code == 0 || !(strings.Contains(r.stderr, "--token-exchange-audience") || strings.Contains(r.stderr, "--grant")) {
				t.Errorf("exit %d, stderr %q; want a refusal naming the flag", r.code, r.stderr)
			}
		})
	}
	if c, _ := st.GetClient(ctx, "gw"); len(c.TokenExchangeAudiences) != 1 {
		t.Errorf("refused updates changed the audiences: %v", c.TokenExchangeAudiences)
	}
}
