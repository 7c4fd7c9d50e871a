package main

import (
	"net/http"
	"testing"

	"github.com/monban-idp/monban/storage"
)

// TestChecklistA18CORS: no CORS on the authorization endpoint (RFC 9700
// §2.6); the token and UserInfo endpoints allow only origins of registered
// redirect URIs, never with credentials; public metadata allows any origin.
func TestChecklistA18CORS(t *testing.T) {
	p := newTestServer(t)
	p.addClient(t, storage.Client{ID: "spa", Name: "SPA", AuthMethod: storage.AuthMethodNone,
		RedirectURIs: []string{"https://spa.example/cb"}})
	for _, tc := range []struct {
		name, method, path, origin, wantACAO string
	}{
		{"A18/authorize-preflight-evil", http.MethodOptions, "/authorize", "https://evil.test", ""},
		{"A18/authorize-preflight-registered", http.MethodOptions, "/authorize", "https://spa.example", ""},
		{"token-preflight-registered", http.MethodOptions, "/token", "https://spa.example", "https://spa.example"},
		{"token-preflight-evil", http.MethodOptions, "/token", "https://evil.test", ""},
		{"userinfo-preflight-registered", http.MethodOptions, "/userinfo", "https://spa.example", "https://spa.example"},
		{"token-post-evil", http.MethodPost, "/token", "https://evil.test", ""},
		{"discovery-any", http.MethodGet, "/.well-known/openid-configuration", "https://evil.test", "*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, p.URL+tc.path, nil)
			req.Header.Set("Origin", tc.origin)
			if tc.method == http.MethodOptions {
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", "content-type")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.wantACAO {
				t.Fatalf("Access-Control-Allow-Origin = %q, want %q", got, tc.wantACAO)
			}
			if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
				t.Fatal("credentials must never be allowed cross-origin")
			}
		})
	}
}
