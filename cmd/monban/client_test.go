package main

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

// clientJSONKeys are the keys of a client in --output json, per the CLI
// contract (client_secret only from add and rotate-secret).
var clientJSONKeys = []string{
	"access_token_ttl_seconds", "application_type", "backchannel_logout_uri", "client_id", "created_at",
	"grant_types", "id_token_signed_response_alg", "name", "post_logout_redirect_uris", "redirect_uris", "refresh_id_token", "refresh_token_ttl_seconds",
	"require_consent", "require_mfa", "require_pushed_authorization_requests", "scopes", "token_endpoint_auth_method",
	"allowed_groups", "claim_mappings", // issue 15
	"dpop_bound_access_tokens", // issue 19, RFC 9449 §5.2
	"token_exchange_audiences", // issue 19
}

// jsonKeys returns the sorted keys of a JSON object.
func jsonKeys(t *testing.T, obj map[string]any) []string {
	t.Helper()
	var keys []string
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// decodeJSON decodes out, which must hold exactly one JSON value.
func decodeJSON(t *testing.T, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("stdout has more than one JSON value:\n%s", out)
	}
}

func TestClientAddConfidential(t *testing.T) {
	env, st := dbEnv(t)
	r := mustRun(t, env, "", "client", "add", "--id", "web1", "--name", "Web One",
		"--redirect-uri", "https://app1.example/cb", "--redirect-uri", "https://app1.example/cb2",
		"--post-logout-redirect-uri", "https://app1.example/", "--output", "json")

	var obj map[string]any
	decodeJSON(t, r.stdout, &obj)
	if got, want := jsonKeys(t, obj), append(slices.Clone(clientJSONKeys), "client_secret"); !reflect.DeepEqual(got, sorted(want)) {
		t.Errorf("JSON keys = %q, want %q", got, sorted(want))
	}
	secret, _ := obj["client_secret"].(string)
	if len(secret) != 43 {
		t.Fatalf("client_secret = %q, want 43 base64url characters (256 bits)", secret)
	}
	if obj["client_id"] != "web1" || obj["token_endpoint_auth_method"] != storage.AuthMethodBasic || obj["application_type"] != storage.ApplicationWeb {
		t.Errorf("unexpected JSON: %s", r.stdout)
	}

	cl, err := st.GetClient(t.Context(), "web1")
	if err != nil {
		t.Fatal(err)
	}
	if cl.SecretHash != storage.HashToken(secret) {
		t.Errorf("stored SecretHash = %q, want HashToken(secret)", cl.SecretHash)
	}
	want := &storage.Client{
		ID: "web1", Name: "Web One", SecretHash: cl.SecretHash, AuthMethod: storage.AuthMethodBasic,
		ApplicationType:        storage.ApplicationWeb,
		RedirectURIs:           []string{"https://app1.example/cb", "https://app1.example/cb2"},
		PostLogoutRedirectURIs: []string{"https://app1.example/"},
		GrantTypes:             []string{"authorization_code", "refresh_token"},
		Scopes:                 []string{"openid", "profile", "email"}, // offline_access only with --offline-access
		CreatedAt:              cl.CreatedAt, UpdatedAt: cl.UpdatedAt,
	}
	if !reflect.DeepEqual(cl, want) {
		t.Errorf("stored client\n got %+v\nwant %+v", cl, want)
	}
	if cl.CreatedAt.IsZero() || cl.CreatedAt.Location().String() != "UTC" {
		t.Errorf("CreatedAt = %v, want a UTC time", cl.CreatedAt)
	}

	// Neither show nor list ever print the secret or its hash.
	for _, args := range [][]string{
		{"client", "show", "web1"},
		{"client", "show", "web1", "--output", "json"},
		{"client", "list"},
		{"client", "list", "--output", "json"},
	} {
		out := mustRun(t, env, "", args...).stdout
		if strings.Contains(out, secret) || strings.Contains(out, cl.SecretHash) {
			t.Errorf("monban %s reveals the secret or its hash:\n%s", strings.Join(args, " "), out)
		}
		if !strings.Contains(out, "web1") || !strings.Contains(out, "https://app1.example/cb") {
			t.Errorf("monban %s does not show the client:\n%s", strings.Join(args, " "), out)
		}
	}

	var shown map[string]any
	decodeJSON(t, mustRun(t, env, "", "client", "show", "web1", "--output", "json").stdout, &shown)
	if got := jsonKeys(t, shown); !reflect.DeepEqual(got, sorted(clientJSONKeys)) {
		t.Errorf("show JSON keys = %q, want %q", got, sorted(clientJSONKeys))
	}
	var list []map[string]any
	decodeJSON(t, mustRun(t, env, "", "client", "list", "--output", "json").stdout, &list)
	if len(list) != 1 || list[0]["client_id"] != "web1" {
		t.Errorf("list JSON = %v, want one client web1", list)
	}
}

func TestClientAddTextPrintsSecretOnce(t *testing.T) {
	env, st := dbEnv(t)
	r := mustRun(t, env, "", "client", "add", "--id", "web1", "--name", "Web One", "--redirect-uri", "https://app1.example/cb")
	var secret string
	for _, line := range strings.Split(r.stdout, "\n") {
		if s, ok := strings.CutPrefix(line, "Client secret: "); ok {
			secret = s
		}
	}
	if len(secret) != 43 || strings.Count(r.stdout, secret) != 1 {
		t.Fatalf("want the secret exactly once on a \"Client secret:\" line:\n%s", r.stdout)
	}
	cl, err := st.GetClient(t.Context(), "web1")
	if err != nil {
		t.Fatal(err)
	}
	if cl.SecretHash != storage.HashToken(secret) {
		t.Error("stored hash does not match the printed secret")
	}
	if r.stderr != "" {
		t.Errorf("stderr = %q, want nothing", r.stderr)
	}
}

func TestClientAddPublicNative(t *testing.T) {
	env, st := dbEnv(t)
	r := mustRun(t, env, "", "client", "add", "--id", "cli", "--name", "CLI", "--public", "--native", "--consent",
		"--redirect-uri", "http://127.0.0.1/callback", "--redirect-uri", "com.example.app:/cb",
		"--grant", "authorization_code", "--scope", "openid email", "--output", "json")
	var obj map[string]any
	decodeJSON(t, r.stdout, &obj)
	if got := jsonKeys(t, obj); !reflect.DeepEqual(got, sorted(clientJSONKeys)) {
		t.Errorf("JSON keys = %q, want %q (no client_secret for a public client)", got, sorted(clientJSONKeys))
	}
	cl, err := st.GetClient(t.Context(), "cli")
	if err != nil {
		t.Fatal(err)
	}
	if !cl.Public() || cl.SecretHash != "" || cl.ApplicationType != storage.ApplicationNative || !cl.RequireConsent {
		t.Errorf("stored client = %+v, want public native with consent and no secret", cl)
	}
	if !reflect.DeepEqual(cl.GrantTypes, []string{"authorization_code"}) || !reflect.DeepEqual(cl.Scopes, []string{"openid", "email"}) {
		t.Errorf("grants %q scopes %q, want [authorization_code] [openid email]", cl.GrantTypes, cl.Scopes)
	}
	if r := runCLI(t, env, "", "client", "rotate-secret", "cli"); r.code != 1 || !strings.Contains(r.stderr, `client "cli" is public`) {
		t.Errorf("rotate-secret of a public client: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestClientAddErrors(t *testing.T) {
	env, _ := dbEnv(t)
	mustRun(t, env, "", "client", "add", "--id", "web1", "--name", "Web One", "--redirect-uri", "https://app1.example/cb")

	base := func(extra ...string) []string {
		return append([]string{"client", "add", "--name", "N"}, extra...)
	}
	tests := []struct {
		name string
		args []string
		want []string // stderr lines, in order
	}{
		{
			name: "duplicate client",
			args: base("--id", "web1", "--redirect-uri", "https://other.example/cb"),
			want: []string{`monban: client add: client "web1" already exists`},
		},
		{
			name: "http redirect URI",
			args: base("--id", "x", "--redirect-uri", "http://a.test/cb"),
			want: []string{`monban: client add: --redirect-uri: redirect URI "http://a.test/cb" must use https (http only for 127.0.0.1, [::1], localhost or *.localhost)`},
		},
		{
			name: "every problem reported",
			args: base("--id", "has space", "--redirect-uri", "https://a.test/cb#x", "--post-logout-redirect-uri", "javascript:alert(1)",
				"--grant", "implicit", "--scope", `openid "quoted"`),
			want: []string{
				`monban: client add: --id: client ID "has space" must not contain white space or control characters`,
				`monban: client add: --redirect-uri: redirect URI "https://a.test/cb#x" must not contain a fragment (#)`,
				`monban: client add: --post-logout-redirect-uri: post-logout redirect URI "javascript:alert(1)" uses the forbidden scheme "javascript"`,
				`monban: client add: --grant: grant type "implicit" is not supported (supported: authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code, urn:ietf:params:oauth:grant-type:token-exchange)`,
				`monban: client add: --scope: scope "\"quoted\"" is not a valid scope token (RFC 6749 §3.3)`,
			},
		},
		{
			name: "client ID too long",
			args: base("--id", strings.Repeat("x", 101), "--redirect-uri", "https://a.test/cb"),
			want: []string{"monban: client add: --id: client ID is longer than 100 characters"},
		},
		{
			name: "no redirect URI",
			args: base("--id", "x"),
			want: []string{"monban: client add: --redirect-uri: at least one redirect URI is required for the authorization_code grant"},
		},
		{
			name: "refresh without code",
			args: base("--id", "x", "--redirect-uri", "https://a.test/cb", "--grant", "refresh_token"),
			want: []string{"monban: client add: --grant: grant type refresh_token needs authorization_code"},
		},
		{
			name: "private-use scheme for a web client",
			args: base("--id", "x", "--redirect-uri", "com.example.app:/cb"),
			want: []string{`monban: client add: --redirect-uri: redirect URI "com.example.app:/cb" must use https (the scheme "com.example.app" is allowed only for native clients)`},
		},
		{
			name: "client_credentials for a public client",
			args: base("--id", "x", "--public", "--grant", "client_credentials", "--scope", "api:read"),
			want: []string{"monban: client add: --grant: grant type client_credentials needs a confidential client (one with a secret)"},
		},
		{
			name: "empty scope",
			args: base("--id", "x", "--redirect-uri", "https://a.test/cb", "--scope", " "),
			want: []string{"monban: client add: --scope: at least one scope is required"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, env, "", tc.args...)
			if r.code != 1 {
				t.Errorf("exit code = %d, want 1", r.code)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("stderr has %d lines, want %d:\n%s", len(lines), len(tc.want), r.stderr)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("stderr line %d = %q, want prefix %q", i+1, lines[i], w)
				}
			}
		})
	}
}

func TestClientRotateSecret(t *testing.T) {
	env, st := dbEnv(t)
	var added map[string]any
	decodeJSON(t, mustRun(t, env, "", "client", "add", "--id", "web1", "--name", "Web One",
		"--redirect-uri", "https://app1.example/cb", "--output", "json").stdout, &added)

	var rotated map[string]any
	decodeJSON(t, mustRun(t, env, "", "client", "rotate-secret", "web1", "--output", "json").stdout, &rotated)
	if got := jsonKeys(t, rotated); !reflect.DeepEqual(got, []string{"client_id", "client_secret"}) {
		t.Errorf("JSON keys = %q, want [client_id client_secret]", got)
	}
	secret, _ := rotated["client_secret"].(string)
	if len(secret) != 43 || secret == added["client_secret"] {
		t.Fatalf("new secret %q: want 43 characters, different from the old one", secret)
	}
	cl, err := st.GetClient(t.Context(), "web1")
	if err != nil {
		t.Fatal(err)
	}
	if cl.SecretHash != storage.HashToken(secret) {
		t.Error("stored hash is not the hash of the new secret")
	}
	if cl.UpdatedAt.Before(cl.CreatedAt) {
		t.Errorf("UpdatedAt %v before CreatedAt %v", cl.UpdatedAt, cl.CreatedAt)
	}

	text := mustRun(t, env, "", "client", "rotate-secret", "web1").stdout
	cl, _ = st.GetClient(t.Context(), "web1")
	if !strings.Contains(text, "New secret for client \"web1\": ") || strings.Contains(text, cl.SecretHash) {
		t.Errorf("unexpected output:\n%s", text)
	}
	if r := runCLI(t, env, "", "client", "rotate-secret", "nope"); r.code != 1 || r.stderr != "monban: client rotate-secret: client \"nope\" not found\n" {
		t.Errorf("rotate unknown client: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestClientShowAndDelete(t *testing.T) {
	env, st := dbEnv(t)
	mustRun(t, env, "", "client", "add", "--id", "web1", "--name", "Web One", "--redirect-uri", "https://app1.example/cb")
	mustRun(t, env, "", "client", "add", "--id", "web2", "--name", "Web Two", "--redirect-uri", "https://app2.example/cb",
		"--redirect-uri", "https://app2.example/cb2")

	show := mustRun(t, env, "", "client", "show", "web2").stdout
	for _, w := range []string{"Client ID:", "web2", "Web Two", "confidential", "client_secret_basic", "https://app2.example/cb2", "openid profile email"} {
		if !strings.Contains(show, w) {
			t.Errorf("client show output lacks %q:\n%s", w, show)
		}
	}
	list := mustRun(t, env, "", "client", "list").stdout
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "CLIENT ID") || !strings.HasPrefix(lines[1], "web1 ") || !strings.Contains(lines[2], "(+1)") {
		t.Errorf("client list:\n%s", list)
	}

	if r := mustRun(t, env, "", "client", "delete", "web1"); r.stdout != "Deleted client \"web1\".\n" {
		t.Errorf("delete output = %q", r.stdout)
	}
	if _, err := st.GetClient(t.Context(), "web1"); err == nil {
		t.Error("client web1 still stored after delete")
	}
	for _, args := range [][]string{{"client", "delete", "web1"}, {"client", "show", "web1"}} {
		r := runCLI(t, env, "", args...)
		want := "monban: " + args[0] + " " + args[1] + ": client \"web1\" not found\n"
		if r.code != 1 || r.stderr != want {
			t.Errorf("monban %s: exit %d, stderr %q, want 1 and %q", strings.Join(args, " "), r.code, r.stderr, want)
		}
	}
	env2, _ := dbEnv(t)
	if out := mustRun(t, env2, "", "client", "list", "--output", "json").stdout; strings.TrimSpace(out) != "[]" {
		t.Errorf("empty list JSON = %q, want []", out)
	}
}

// sorted returns a sorted copy of s.
func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
