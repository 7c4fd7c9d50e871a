package main

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"
)

// xffTransport sends every request of one simulated browser from one
// address in X-Forwarded-For, as a reverse proxy in front of monban does.
type xffTransport struct{ addr string }

func (x xffTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", x.addr)
	return http.DefaultTransport.RoundTrip(r)
}

// TestServeTrustedProxies: `trusted_proxies` reaches the sign-in throttle
// (checklist S10 behind a proxy). 35 people behind one proxy each fail
// one sign-in: with the proxy trusted every attempt is judged by its own
// address (all 401); without it they all share the proxy's address and
// the per-address limit (30 a minute) refuses the rest with 429.
func TestServeTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      []string
		want429s bool
	}{
		{"proxy-trusted", []string{"MONBAN_TRUSTED_PROXIES=127.0.0.1"}, false},
		{"proxy-not-trusted", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			issuer, _ := startServe(t, tc.env, "--dev")
			verifier := oauth2.GenerateVerifier()
			authorize := issuer + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {"demo-cli"},
				"redirect_uri": {"http://127.0.0.1:4711/callback"}, "scope": {"openid"}, "state": {"s"},
				"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}.Encode()
			statuses := map[int]int{}
			for i := range 35 {
				br := newBrowser(t, issuer)
				br.client.Transport = xffTransport{addr: fmt.Sprintf("198.51.100.%d", i+1)}
				page, body := br.visit(authorize)
				if page.StatusCode != http.StatusOK {
					t.Fatalf("login page: %d", page.StatusCode)
				}
				resp, _ := br.submit(page, body, map[string]string{"username": "demo", "password": "wrong password"})
				statuses[resp.StatusCode]++
			}
			if got := statuses[http.StatusTooManyRequests] > 0; got != tc.want429s {
				t.Fatalf("answers %v: 429s %v, want %v", statuses, got, tc.want429s)
			}
			if !tc.want429s && statuses[http.StatusUnauthorized] != 35 {
				t.Fatalf("answers %v, want 35 × 401", statuses)
			}
		})
	}
}
