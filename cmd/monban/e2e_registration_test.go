package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/storage"
)

// regCall sends a registration request (RFC 7591 §3.1, RFC 7592 §2) with
// the bearer token and JSON body (nil: none) and decodes the answer.
func regCall(t *testing.T, method, u, token string, body any) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s answer %q: %v", method, u, raw, err)
		}
	}
	return resp, out
}

// initialToken stores an initial access token as "monban client
// registration-token" does and returns it.
func initialToken(t *testing.T, p *testProvider, uses int, ttl time.Duration) string {
	t.Helper()
	tok := storage.NewToken()
	now := p.Clock.Now()
	if err := p.Store.CreateInitialAccessToken(t.Context(), &storage.InitialAccessToken{ID: storage.NewID(),
		TokenHash: storage.HashToken(tok), UsesLeft: uses, CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
		t.Fatal(err)
	}
	return tok
}

func dcrOn(c *app.Config) { c.DynamicRegistration = true }

// dynMetadata is a web client's registration request, with a member
// monban does not know (ignored, RFC 7591 §2).
func dynMetadata() map[string]any {
	return map[string]any{"redirect_uris": []string{redirectA}, "client_name": "Dynamic App",
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"scope": "openid profile email", "logo_uri": "https://app-a.example/logo.png"}
}

// TestDynamicRegistration covers RFC 7591 and RFC 7592 end to end on both
// stores: a client registers with an initial access token, an RP
// completes a code flow with it (consent asked: it is third-party), and
// it reads, replaces and deletes its registration with its registration
// access token; each change is audited.
func TestDynamicRegistration(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store), withConfig(dcrOn))
		p.addUser(t, "alice", alicePassword)
		resp, err := http.Get(p.URL + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if doc["registration_endpoint"] != p.URL+"/register" {
			t.Fatalf("registration_endpoint = %v", doc["registration_endpoint"])
		}

		resp, reg := regCall(t, http.MethodPost, p.URL+"/register", initialToken(t, p, 1, time.Hour), dynMetadata())
		if resp.StatusCode != http.StatusCreated || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("register: %d (Cache-Control %q) %v", resp.StatusCode, resp.Header.Get("Cache-Control"), reg)
		}
		id, _ := reg["client_id"].(string)
		secret, _ := reg["client_secret"].(string)
		regToken, _ := reg["registration_access_token"].(string)
		if id == "" || secret == "" || regToken == "" || reg["client_secret_expires_at"] != float64(0) ||
			reg["client_id_issued_at"] != float64(p.Clock.Now().Unix()) || reg["registration_client_uri"] != p.URL+"/register/"+id ||
			reg["client_name"] != "Dynamic App" || reg["token_endpoint_auth_method"] != "client_secret_basic" || reg["logo_uri"] != nil {
			t.Fatalf("registration answer %v", reg)
		}
		cl, err := p.Store.GetClient(t.Context(), id)
		if err != nil || !cl.RequireConsent || cl.RegistrationTokenHash != storage.HashToken(regToken) ||
			cl.SecretHash != storage.HashToken(secret) {
			t.Fatalf("stored client %+v, %v", cl, err)
		}

		t.Run("code flow", func(t *testing.T) {
			r := newRP(t, p.URL, id, secret, redirectA)
			br := newBrowser(t, p.URL)
			f := r.start()
			page, body := br.visit(f.URL)
			page, body = br.submit(page, body, map[string]string{"username": "alice", "password": alicePassword})
			if page.Request.URL.Path != "/consent" || !strings.Contains(body, "Dynamic App") {
				t.Fatalf("want the consent page naming the client, got %d at %s", page.StatusCode, page.Request.URL)
			}
			resp, _ := br.submit(page, body, map[string]string{"action": "approve"})
			if _, err := r.exchange(r.callbackParams(resp, f, p.URL).Get("code"), f); err != nil {
				t.Fatal(err)
			}
		})

		uri := p.URL + "/register/" + id
		t.Run("read", func(t *testing.T) {
			resp, got := regCall(t, http.MethodGet, uri, regToken, nil)
			if resp.StatusCode != http.StatusOK || got["client_id"] != id || got["client_secret"] != nil ||
				got["registration_access_token"] != regToken || got["client_name"] != "Dynamic App" {
				t.Fatalf("read: %d %v", resp.StatusCode, got)
			}
		})

		t.Run("update", func(t *testing.T) {
			m := dynMetadata()
			m["client_id"], m["client_name"] = id, "Renamed App"
			m["redirect_uris"] = []string{redirectA, redirectB}
			resp, got := regCall(t, http.MethodPut, uri, regToken, m)
			if resp.StatusCode != http.StatusOK || got["client_name"] != "Renamed App" || got["client_secret"] != nil {
				t.Fatalf("update: %d %v", resp.StatusCode, got)
			}
			cl, _ := p.Store.GetClient(t.Context(), id)
			if cl.Name != "Renamed App" || len(cl.RedirectURIs) != 2 || !cl.RequireConsent || cl.SecretHash != storage.HashToken(secret) {
				t.Fatalf("stored after update: %+v", cl)
			}
		})

		t.Run("delete", func(t *testing.T) {
			resp, _ := regCall(t, http.MethodDelete, uri, regToken, nil)
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("delete: %d", resp.StatusCode)
			}
			if _, err := p.Store.GetClient(t.Context(), id); err == nil {
				t.Fatal("the client is still registered")
			}
			if resp, _ := regCall(t, http.MethodGet, uri, regToken, nil); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("read after delete: %d, want 401", resp.StatusCode)
			}
		})

		t.Run("audited", func(t *testing.T) {
			entries, err := p.Store.ListAudit(t.Context(), storage.AuditFilter{}, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, e := range entries {
				if e.Target == "client:"+id {
					seen[e.Action] = true
				}
			}
			for _, a := range []string{"client.register", "client.register_update", "client.register_delete"} {
				if !seen[a] {
					t.Errorf("no audit entry %s for the client (have %v)", a, seen)
				}
			}
		})
	})
}

// TestDynamicRegistrationRefusals: registration without a usable initial
// access token is 401 (RFC 6750 §3.1), bad metadata is 400 with the code
// of RFC 7591 §3.2.2 and a description naming the field (and uses up
// nothing), a registration access token works only for its own client,
// and with dynamic registration off there is no endpoint at all.
func TestDynamicRegistrationRefusals(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store), withConfig(dcrOn))
		register := func(t *testing.T, token string, m map[string]any) (*http.Response, map[string]any) {
			t.Helper()
			return regCall(t, http.MethodPost, p.URL+"/register", token, m)
		}

		t.Run("initial access token", func(t *testing.T) {
			expired := initialToken(t, p, 5, time.Minute)
			p.Clock.Advance(time.Minute)
			once := initialToken(t, p, 1, time.Hour)
			if resp, got := register(t, once, dynMetadata()); resp.StatusCode != http.StatusCreated {
				t.Fatalf("first use: %d %v", resp.StatusCode, got)
			}
			for _, tc := range []struct{ name, token string }{
				{"missing", ""}, {"unknown", storage.NewToken()}, {"expired", expired}, {"used up", once},
			} {
				t.Run(tc.name, func(t *testing.T) {
					resp, got := register(t, tc.token, dynMetadata())
					if resp.StatusCode != http.StatusUnauthorized || got["error"] != "invalid_token" ||
						!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") || got["client_id"] != nil {
						t.Errorf("got %d %v (WWW-Authenticate %q), want 401 invalid_token", resp.StatusCode, got, resp.Header.Get("WWW-Authenticate"))
					}
				})
			}
		})

		t.Run("metadata", func(t *testing.T) {
			token := initialToken(t, p, 1, time.Hour)
			with := func(k string, v any) map[string]any {
				m := dynMetadata()
				if v == nil {
					delete(m, k)
				} else {
					m[k] = v
				}
				return m
			}
			for _, tc := range []struct {
				name  string
				body  map[string]any
				code  string
				field string // named in error_description
			}{
				{"http redirect URI", with("redirect_uris", []string{"http://app.example/cb"}), "invalid_redirect_uri", "redirect_uris"},
				{"no redirect URI", with("redirect_uris", nil), "invalid_redirect_uri", "redirect_uris"},
				{"redirect URIs not a list", with("redirect_uris", "https://app-a.example/callback"), "invalid_client_metadata", "redirect_uris"},
				{"implicit response type", with("response_types", []string{"token"}), "invalid_client_metadata", "response_types"},
				{"unknown scope", with("scope", "openid admin"), "invalid_client_metadata", "scope"},
				{"unknown auth method", with("token_endpoint_auth_method", "tls_client_auth"), "invalid_client_metadata", "token_endpoint_auth_method"},
				{"unknown grant", with("grant_types", []string{"password"}), "invalid_client_metadata", "grant_types"},
				{"id token alg none", with("id_token_signed_response_alg", "none"), "invalid_client_metadata", "id_token_signed_response_alg"},
				{"control character in name", with("client_name", "App\u0000"), "invalid_client_metadata", "client_name"},
				{"post-logout URI", with("post_logout_redirect_uris", []string{"javascript:alert(1)"}), "invalid_client_metadata", "post_logout_redirect_uris"},
				{"client_id chosen", with("client_id", "mine"), "invalid_client_metadata", "client_id"},
				{"token exchange without audiences", map[string]any{"client_name": "Exchanger",
					"grant_types": []string{"urn:ietf:params:oauth:grant-type:token-exchange"}}, "invalid_client_metadata", "token_exchange_audiences"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					resp, got := register(t, token, tc.body)
					desc, _ := got["error_description"].(string)
					if resp.StatusCode != http.StatusBadRequest || got["error"] != tc.code || !strings.Contains(desc, tc.field) {
						t.Errorf("got %d %v, want 400 %s naming %s", resp.StatusCode, got, tc.code, tc.field)
					}
				})
			}
			t.Run("not JSON", func(t *testing.T) {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, p.URL+"/register", strings.NewReader("redirect_uris=x"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("form body: %d, want 400", resp.StatusCode)
				}
			})
			// Refusals used up nothing: the one use is still there.
			m := with("token_endpoint_auth_method", "none")
			resp, got := register(t, token, m)
			if resp.StatusCode != http.StatusCreated || got["client_secret"] != nil || got["client_secret_expires_at"] != nil {
				t.Errorf("public client after refusals: %d %v", resp.StatusCode, got)
			}
		})

		t.Run("registration access token", func(t *testing.T) {
			token := initialToken(t, p, 2, time.Hour)
			_, a := register(t, token, dynMetadata())
			_, b := register(t, token, dynMetadata())
			aID, aTok := a["client_id"].(string), a["registration_access_token"].(string)
			bID := b["client_id"].(string)
			p.addClient(t, storage.Client{ID: "cli-made", Name: "CLI", RedirectURIs: []string{redirectA}})
			update := dynMetadata()
			update["client_id"] = bID
			for _, tc := range []struct{ name, method, id, token string }{
				{"read another client", http.MethodGet, bID, aTok},
				{"update another client", http.MethodPut, bID, aTok},
				{"delete another client", http.MethodDelete, bID, aTok},
				{"wrong token", http.MethodGet, aID, storage.NewToken()},
				{"no token", http.MethodGet, aID, ""},
				{"initial token", http.MethodGet, aID, token},
				{"client registered by the CLI", http.MethodGet, "cli-made", aTok},
				{"unknown client", http.MethodDelete, "no-such-client", aTok},
			} {
				t.Run(tc.name, func(t *testing.T) {
					var body any
					if tc.method == http.MethodPut {
						body = update
					}
					resp, got := regCall(t, tc.method, p.URL+"/register/"+tc.id, tc.token, body)
					if resp.StatusCode != http.StatusUnauthorized || got["error"] != "invalid_token" {
						t.Errorf("got %d %v, want 401 invalid_token", resp.StatusCode, got)
					}
				})
			}
			if _, err := p.Store.GetClient(t.Context(), bID); err != nil {
				t.Fatalf("client B after the refusals: %v", err)
			}
			for _, tc := range []struct {
				name string
				edit func(map[string]any)
				code string
			}{
				{"other client_id", func(m map[string]any) { m["client_id"] = bID }, "invalid_client_metadata"},
				{"registration_access_token sent", func(m map[string]any) { m["registration_access_token"] = aTok }, "invalid_client_metadata"},
				{"wrong client_secret", func(m map[string]any) { m["client_secret"] = "guess" }, "invalid_client_metadata"},
				{"bad redirect URI", func(m map[string]any) { m["redirect_uris"] = []string{"https://app.example/cb#frag"} }, "invalid_redirect_uri"},
			} {
				t.Run("update "+tc.name, func(t *testing.T) {
					m := dynMetadata()
					m["client_id"], m["client_name"] = aID, "Changed"
					tc.edit(m)
					resp, got := regCall(t, http.MethodPut, p.URL+"/register/"+aID, aTok, m)
					if resp.StatusCode != http.StatusBadRequest || got["error"] != tc.code {
						t.Errorf("got %d %v, want 400 %s", resp.StatusCode, got, tc.code)
					}
					if cl, _ := p.Store.GetClient(t.Context(), aID); cl == nil || cl.Name != "Dynamic App" {
						t.Errorf("the refused update changed the client: %+v", cl)
					}
				})
			}
		})
	})

	t.Run("off", func(t *testing.T) {
		p := newTestServer(t) // dynamic_registration is off by default
		token := initialToken(t, p, 1, time.Hour)
		for _, method := range []string{http.MethodPost, http.MethodGet} {
			u := p.URL + "/register"
			if method == http.MethodGet {
				u += "/some-client"
			}
			var body any
			if method == http.MethodPost {
				body = dynMetadata()
			}
			if resp, _ := regCall(t, method, u, token, body); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s with registration off: %d, want 404", method, u, resp.StatusCode)
			}
		}
		resp, err := http.Get(p.URL + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if _, ok := doc["registration_endpoint"]; ok {
			t.Errorf("registration_endpoint advertised while off: %v", doc["registration_endpoint"])
		}
	})
}
