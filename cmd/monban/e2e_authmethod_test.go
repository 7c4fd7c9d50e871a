package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

const (
	redirectPost  = "https://post-app.example/callback"
	redirectBasic = "https://basic-app.example/callback"
)

// TestClientSecretPost (issue #13 item 1, checklist T7): a client
// registered for client_secret_post signs a user in, refreshes, revokes
// and introspects with x/oauth2 sending its credentials in the body
// (oauth2.AuthStyleInParams); each client is held to the one method it
// registered (OIDC Core §9), so a basic client sending post and a post
// client sending basic both get 401 invalid_client, at the token,
// revocation and introspection endpoints alike.
func TestClientSecretPost(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		p.addUser(t, "alice", alicePassword)
		postSecret := p.addClient(t, storage.Client{ID: "post-app", Name: "Post App", AuthMethod: storage.AuthMethodPost,
			RedirectURIs: []string{redirectPost}})
		basicSecret := p.addClient(t, storage.Client{ID: "basic-app", Name: "Basic App", RedirectURIs: []string{redirectBasic}})
		fx := &ssoFixture{p: p}

		t.Run("T7/discovery-lists-the-registrable-methods", func(t *testing.T) {
			status, body := getBody(t, p.URL+"/.well-known/openid-configuration")
			var doc map[string]any
			if err := json.Unmarshal([]byte(body), &doc); status != http.StatusOK || err != nil {
				t.Fatalf("discovery: %d %v", status, err)
			}
			for key, want := range map[string][]string{
				"token_endpoint_auth_methods_supported":         clientpolicy.AuthMethods(),
				"revocation_endpoint_auth_methods_supported":    clientpolicy.AuthMethods(),
				"introspection_endpoint_auth_methods_supported": clientpolicy.ConfidentialAuthMethods(),
			} {
				var got []string
				for _, m := range doc[key].([]any) {
					got = append(got, m.(string))
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s = %v, want %v", key, got, want)
				}
			}
		})
		br := newBrowser(t, p.URL)

		postRP := newRP(t, p.URL, "post-app", postSecret, redirectPost, "openid", "profile", "offline_access")
		postRP.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		var tok *tokens
		t.Run("T7/post-client-code-flow", func(t *testing.T) {
			tok = fx.signIn(t, br, postRP)
			if tok.token.RefreshToken == "" || !slices.Equal(tok.idToken.Audience, []string{"post-app"}) {
				t.Fatalf("refresh token %q, aud %v: want a refresh token and aud post-app", tok.token.RefreshToken, tok.idToken.Audience)
			}
		})
		if tok == nil {
			t.FailNow()
		}
		var refreshed *oauth2.Token
		t.Run("T7/post-client-refresh", func(t *testing.T) {
			var err error
			if refreshed, err = postRP.refresh(tok.token.RefreshToken); err != nil {
				t.Fatalf("refresh with credentials in the body: %v", err)
			}
		})
		if refreshed == nil {
			t.FailNow()
		}
		t.Run("T7/post-client-introspect", func(t *testing.T) {
			status, body := postForm(t, p.URL+"/introspect", url.Values{"token": {refreshed.AccessToken},
				"client_id": {"post-app"}, "client_secret": {postSecret}})
			var out map[string]any
			_ = json.Unmarshal([]byte(body), &out)
			if status != http.StatusOK || out["active"] != true || out["client_id"] != "post-app" {
				t.Fatalf("introspection: %d %s, want active for post-app", status, body)
			}
		})
		t.Run("T7/post-client-revoke", func(t *testing.T) {
			status, body := postForm(t, p.URL+"/revoke", url.Values{"token": {refreshed.RefreshToken},
				"client_id": {"post-app"}, "client_secret": {postSecret}})
			if status != http.StatusOK {
				t.Fatalf("revocation: %d %s, want 200", status, body)
			}
			if _, err := postRP.refresh(refreshed.RefreshToken); grantError(err) != "invalid_grant" {
				t.Fatalf("refresh after revocation: %v, want invalid_grant", err)
			}
		})

		// The other method, with the right secret, is refused everywhere.
		wrong := []struct {
			name, clientID, secret string
			basic                  bool // credentials in the Authorization header, else in the body
		}{
			{"T7/basic-client-sending-post", "basic-app", basicSecret, false},
			{"T7/post-client-sending-basic", "post-app", postSecret, true},
		}
		endpoints := []struct {
			path string
			form url.Values
		}{
			{"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"unknown"}}},
			{"/revoke", url.Values{"token": {"unknown"}}},
			{"/introspect", url.Values{"token": {"unknown"}}},
		}
		for _, w := range wrong {
			for _, e := range endpoints {
				t.Run(w.name+e.path, func(t *testing.T) {
					form := url.Values{}
					for k, v := range e.form {
						form[k] = v
					}
					var status int
					var body string
					if w.basic {
						resp, b := p.post(t, e.path, w.clientID, w.secret, form)
						status, body = resp.StatusCode, b
					} else {
						form.Set("client_id", w.clientID)
						form.Set("client_secret", w.secret)
						status, body = postForm(t, p.URL+e.path, form)
					}
					if status != http.StatusUnauthorized || oauthError(body) != "invalid_client" {
						t.Fatalf("got %d %s, want 401 invalid_client", status, body)
					}
				})
			}
		}
		// And through the RP library: the basic client's code flow with
		// the secret in the body fails at the exchange.
		t.Run("T7/basic-client-code-flow-with-post", func(t *testing.T) {
			basicRP := newRP(t, p.URL, "basic-app", basicSecret, redirectBasic)
			basicRP.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
			f := basicRP.start()
			resp, _ := br.visit(f.URL) // alice's session: no form
			q := basicRP.callbackParams(resp, f, p.URL)
			if _, err := basicRP.exchange(q.Get("code"), f); grantError(err) != "invalid_client" {
				t.Fatalf("exchange: %v, want invalid_client", err)
			}
		})
	})
}

// postForm posts form (credentials, if any, inside it) and returns the
// status and body.
func postForm(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// getBody GETs u and returns the status and body.
func getBody(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
