package main

import (
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

// TestClientAuthMethodFlag (issue #13 item 1): `client add|update
// --auth-method` registers client_secret_basic, client_secret_post or
// none, keeps the secret in step with the method, and refuses anything
// else under the flag's name. Item 5's *.localhost redirect URI is
// accepted here too.
func TestClientAuthMethodFlag(t *testing.T) {
	env, st := dbEnv(t)
	get := func(t *testing.T, id string) *storage.Client {
		t.Helper()
		c, err := st.GetClient(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	add := func(t *testing.T, id string, extra ...string) clientJSON {
		t.Helper()
		args := append([]string{"client", "add", "--id", id, "--name", "App " + id,
			"--redirect-uri", "http://" + id + ".localhost:9001/callback", "--output", "json"}, extra...)
		var out clientJSON
		decodeJSON(t, mustRun(t, env, "", args...).stdout, &out)
		return out
	}

	t.Run("add-post", func(t *testing.T) {
		out := add(t, "post1", "--auth-method", "client_secret_post")
		c := get(t, "post1")
		if c.AuthMethod != storage.AuthMethodPost || out.TokenEndpointAuthMethod != storage.AuthMethodPost {
			t.Errorf("method stored %q, printed %q; want client_secret_post", c.AuthMethod, out.TokenEndpointAuthMethod)
		}
		if out.ClientSecret == "" || storage.HashToken(out.ClientSecret) != c.SecretHash {
			t.Errorf("printed secret does not match the stored hash")
		}
	})
	t.Run("add-default-is-basic", func(t *testing.T) {
		add(t, "basic1")
		if c := get(t, "basic1"); c.AuthMethod != storage.AuthMethodBasic || c.SecretHash == "" {
			t.Errorf("client %+v, want client_secret_basic with a secret", c)
		}
	})
	t.Run("add-none", func(t *testing.T) {
		out := add(t, "none1", "--auth-method", "none")
		if c := get(t, "none1"); c.AuthMethod != storage.AuthMethodNone || c.SecretHash != "" || out.ClientSecret != "" {
			t.Errorf("client %+v (secret printed %q), want public without a secret", c, out.ClientSecret)
		}
	})
	t.Run("update-post-to-basic-keeps-the-secret", func(t *testing.T) {
		before := get(t, "post1")
		out := mustRun(t, env, "", "client", "update", "post1", "--auth-method", "client_secret_basic").stdout
		after := get(t, "post1")
		if after.AuthMethod != storage.AuthMethodBasic || after.SecretHash != before.SecretHash || strings.Contains(out, "secret") {
			t.Errorf("after update %+v, output %q; want basic with the same secret and no new one", after, out)
		}
	})
	t.Run("update-none-to-post-issues-a-secret", func(t *testing.T) {
		var out clientJSON
		decodeJSON(t, mustRun(t, env, "", "client", "update", "none1", "--auth-method", "client_secret_post", "--output", "json").stdout, &out)
		c := get(t, "none1")
		if c.AuthMethod != storage.AuthMethodPost || out.ClientSecret == "" || storage.HashToken(out.ClientSecret) != c.SecretHash {
			t.Errorf("client %+v, printed secret %q; want client_secret_post with the printed secret", c, out.ClientSecret)
		}
	})
	t.Run("update-basic-to-none-drops-the-secret", func(t *testing.T) {
		mustRun(t, env, "", "client", "update", "basic1", "--auth-method", "none")
		if c := get(t, "basic1"); c.AuthMethod != storage.AuthMethodNone || c.SecretHash != "" {
			t.Errorf("client %+v, want public without a secret", c)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown-method", []string{"client", "add", "--id", "x1", "--name", "X", "--redirect-uri", "https://x.example/cb",
			"--auth-method", "client_secret_jwt"}, 1,
			`--auth-method: client authentication method "client_secret_jwt" is not one of client_secret_basic, client_secret_post, private_key_jwt, none`},
		{"empty-method", []string{"client", "update", "post1", "--auth-method", ""}, 1, `--auth-method: client authentication method ""`},
		{"public-and-post", []string{"client", "add", "--id", "x2", "--name", "X", "--redirect-uri", "https://x.example/cb",
			"--public", "--auth-method", "client_secret_post"}, 2, "--public means --auth-method none"},
		{"none-with-client-credentials", []string{"client", "update", "post1", "--grant", "client_credentials", "--auth-method", "none"}, 1,
			"client_credentials needs a confidential client"},
		{"localhost-lookalike-refused", []string{"client", "add", "--id", "x3", "--name", "X",
			"--redirect-uri", "http://app1.localhost.evil.example/cb"}, 1, "must use https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, env, "", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
	if c := get(t, "post1"); c.AuthMethod != storage.AuthMethodBasic || c.SecretHash == "" {
		t.Errorf("a refused update changed the client: %+v", c)
	}
}
