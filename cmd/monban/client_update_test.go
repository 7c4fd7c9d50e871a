package main

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestClientLogoutAndTokenSettings(t *testing.T) {
	env, st := dbEnv(t)
	var added map[string]any
	decodeJSON(t, mustRun(t, env, "", "client", "add", "--id", "web1", "--name", "Web One",
		"--redirect-uri", "https://app1.example/cb", "--offline-access",
		"--backchannel-logout-uri", "https://app1.example/bcl", "--access-token-ttl", "2m",
		"--refresh-token-ttl", "24h", "--output", "json").stdout, &added)
	if added["backchannel_logout_uri"] != "https://app1.example/bcl" || added["access_token_ttl_seconds"] != 120.0 ||
		added["refresh_token_ttl_seconds"] != 86400.0 {
		t.Errorf("add JSON = %v", added)
	}
	cl, err := st.GetClient(t.Context(), "web1")
	if err != nil {
		t.Fatal(err)
	}
	if cl.BackchannelLogoutURI != "https://app1.example/bcl" || cl.AccessTokenTTL != 2*time.Minute ||
		cl.RefreshTokenTTL != 24*time.Hour || !reflect.DeepEqual(cl.Scopes, []string{"openid", "profile", "email", "offline_access"}) {
		t.Errorf("stored client %+v", cl)
	}
	show := mustRun(t, env, "", "client", "show", "web1").stdout
	for _, w := range []string{"Back-channel logout:  https://app1.example/bcl", "Access token TTL:     2m0s", "Refresh token TTL:    24h0m0s"} {
		if !strings.Contains(show, w) {
			t.Errorf("client show lacks %q:\n%s", w, show)
		}
	}

	t.Run("update-changes-only-what-is-given", func(t *testing.T) {
		r := mustRun(t, env, "", "client", "update", "web1", "--offline-access=false", "--backchannel-logout-uri", "",
			"--access-token-ttl", "0")
		if r.stdout != "Updated client \"web1\".\n" {
			t.Errorf("update output %q", r.stdout)
		}
		got, err := st.GetClient(t.Context(), "web1")
		if err != nil {
			t.Fatal(err)
		}
		want := *cl
		want.Scopes, want.BackchannelLogoutURI, want.AccessTokenTTL, want.UpdatedAt = []string{"openid", "profile", "email"}, "", 0, got.UpdatedAt
		if !reflect.DeepEqual(got, &want) {
			t.Errorf("after update\n got %+v\nwant %+v", got, &want)
		}
		mustRun(t, env, "", "client", "update", "web1", "--offline-access", "--name", "Web 1")
		if got, _ := st.GetClient(t.Context(), "web1"); got.Name != "Web 1" || got.Scopes[len(got.Scopes)-1] != "offline_access" {
			t.Errorf("after second update: %+v", got)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bcl-http-not-loopback", []string{"client", "add", "--id", "w2", "--name", "W", "--redirect-uri", "https://a.example/cb",
			"--backchannel-logout-uri", "http://a.example/bcl"}, 1, `back-channel logout URI "http://a.example/bcl" must use https`},
		{"bcl-fragment", []string{"client", "update", "web1", "--backchannel-logout-uri", "https://a.example/bcl#x"}, 1,
			"must not contain a fragment"},
		{"J5/access-ttl-too-long", []string{"client", "update", "web1", "--access-token-ttl", "1h"}, 1,
			"access token lifetime 1h0m0s is out of range"},
		{"T12/refresh-ttl-too-long", []string{"client", "update", "web1", "--refresh-token-ttl", "1000h"}, 1,
			"refresh token lifetime 1000h0m0s is out of range"},
		{"update-nothing", []string{"client", "update", "web1"}, 2, "nothing to change"},
		{"update-unknown", []string{"client", "update", "nope", "--name", "x"}, 1, `client "nope" not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, env, "", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
}

// TestClientIDTokenAlg covers --id-token-alg (id_token_signed_response_alg,
// OIDC Dynamic Client Registration §2) on add and update.
func TestClientIDTokenAlg(t *testing.T) {
	env, st := dbEnv(t)
	for _, tc := range []struct {
		name string
		args []string
		want string // stored value; "" with code 1 means refused
		code int
	}{
		{"default", nil, "", 0},
		{"es256", []string{"--id-token-alg", "ES256"}, "ES256", 0},
		{"eddsa", []string{"--id-token-alg", "EdDSA"}, "EdDSA", 0},
		{"none-refused", []string{"--id-token-alg", "none"}, "", 1},
		{"hs256-refused", []string{"--id-token-alg", "HS256"}, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "alg-" + tc.name
			args := append([]string{"client", "add", "--id", id, "--name", id, "--redirect-uri", "https://a.example/cb"}, tc.args...)
			if r := runCLI(t, env, "", args...); r.code != tc.code {
				t.Fatalf("exit %d, want %d: %s", r.code, tc.code, r.stderr)
			}
			if tc.code != 0 {
				return
			}
			if cl, err := st.GetClient(t.Context(), id); err != nil || cl.IDTokenSigningAlg != tc.want {
				t.Fatalf("stored alg %q (%v), want %q", cl.IDTokenSigningAlg, err, tc.want)
			}
		})
	}
	mustRun(t, env, "", "client", "update", "alg-default", "--id-token-alg", "PS256")
	if cl, _ := st.GetClient(t.Context(), "alg-default"); cl.IDTokenSigningAlg != "PS256" {
		t.Fatalf("update: alg %q", cl.IDTokenSigningAlg)
	}
}
