package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
)

// TestDPoPAuthorizationCodeBinding: the dpop_jkt authorization request
// parameter (RFC 9449 §10) binds the code to a key: its exchange needs a
// DPoP proof by that key (without one, or with another key's, it is
// invalid_grant), with it the tokens are DPoP-bound to the key. The
// binding survives the sealed pending request (sign-in) and the SSO path
// (a live session), and a PAR pushed with a DPoP proof binds the code as
// dpop_jkt does (§10.1). A malformed dpop_jkt is invalid_request at the
// client's redirect URI, or in /par's JSON.
func TestDPoPAuthorizationCodeBinding(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		p.addUser(t, "alice", alicePassword)
		secret := p.addClient(t, storage.Client{ID: "app-a", Name: "App A", RedirectURIs: []string{redirectA}})
		r := newRP(t, p.URL, "app-a", secret, redirectA)
		holder, thief := newDPoPHolder(t, p), newDPoPHolder(t, p)
		br := newBrowser(t, p.URL)
		signedIn := false
		// code runs the browser through the authorization request at u
		// (signing in the first time, SSO after) and returns the code.
		code := func(t *testing.T, u string, f *flow) string {
			t.Helper()
			resp, body := br.visit(u)
			if !signedIn {
				resp, _ = br.submit(resp, body, map[string]string{"username": "alice", "password": alicePassword})
				signedIn = true
			}
			return r.callbackParams(resp, f, p.URL).Get("code")
		}
		exchangeForm := func(c string, f *flow) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirectA},
				"code_verifier": {f.verifier}}
		}
		bound := func(t *testing.T, c string, f *flow) {
			t.Helper()
			resp, out := holder.token(t, "app-a", secret, exchangeForm(c, f))
			token, _ := out["access_token"].(string)
			if resp.StatusCode != http.StatusOK || out["token_type"] != "DPoP" {
				t.Fatalf("exchange with the named key: %d %v", resp.StatusCode, out)
			}
			if _, claims := p.verifyJWT(t, token); claims["cnf"].(map[string]any)["jkt"] != holder.jkt(t) {
				t.Fatalf("cnf = %v, want jkt %s", claims["cnf"], holder.jkt(t))
			}
		}

		for _, tc := range []struct {
			name     string
			exchange func(t *testing.T, c string, f *flow)
		}{
			{"the named key, after sign-in", bound},
			{"no proof", func(t *testing.T, c string, f *flow) {
				_, err := r.exchange(c, f)
				var re *oauth2.RetrieveError
				if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
					t.Fatalf("exchange without a proof: %v, want invalid_grant", err)
				}
			}},
			{"another key", func(t *testing.T, c string, f *flow) {
				resp, out := thief.token(t, "app-a", secret, exchangeForm(c, f))
				if resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_grant" {
					t.Fatalf("exchange with another key: %d %v, want invalid_grant", resp.StatusCode, out)
				}
				// The code was consumed by the refused exchange: single use.
				resp, out = holder.token(t, "app-a", secret, exchangeForm(c, f))
				if resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_grant" {
					t.Fatalf("second exchange: %d %v, want invalid_grant", resp.StatusCode, out)
				}
			}},
			{"the named key, by SSO", bound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := r.start(oauth2.SetAuthURLParam("dpop_jkt", holder.jkt(t)))
				tc.exchange(t, code(t, f.URL, f), f)
			})
		}

		t.Run("malformed dpop_jkt", func(t *testing.T) {
			for _, bad := range []string{"short", holder.jkt(t) + "A", strings.Repeat("+", 43), holder.jkt(t)[:42] + "="} {
				f := r.start(oauth2.SetAuthURLParam("dpop_jkt", bad))
				resp, _ := br.visit(f.URL)
				if q := r.callbackParams(resp, f, p.URL); q.Get("error") != "invalid_request" || q.Get("code") != "" {
					t.Errorf("dpop_jkt %q: redirect %v, want error=invalid_request", bad, q)
				}
			}
		})

		t.Run("without dpop_jkt", func(t *testing.T) {
			f := r.start()
			if _, err := r.exchange(code(t, f.URL, f), f); err != nil {
				t.Fatalf("a code without dpop_jkt needs no proof: %v", err)
			}
		})

		// pushDPoP pushes the flow's parameters plus extra, with a proof by
		// h for /par when h is set.
		pushDPoP := func(t *testing.T, h *dpopHolder, f *flow, extra url.Values) (*http.Response, string) {
			t.Helper()
			form := flowParams(t, f)
			for k, v := range extra {
				form[k] = v
			}
			build := func(proof string) *http.Request {
				req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, p.URL+"/par", strings.NewReader(form.Encode()))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("app-a", url.QueryEscape(secret))
				if proof != "" {
					req.Header.Set("DPoP", proof)
				}
				return req
			}
			if h == nil {
				resp, err := http.DefaultClient.Do(build(""))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp, string(b)
			}
			return h.do(t, build, http.MethodPost, p.URL+"/par", "")
		}
		requestURI := func(t *testing.T, resp *http.Response, body string) string {
			t.Helper()
			var pr parResponse
			if err := json.Unmarshal([]byte(body), &pr); resp.StatusCode != http.StatusCreated || err != nil ||
				!strings.HasPrefix(pr.RequestURI, requestURIPrefix) {
				t.Fatalf("push: %d %s", resp.StatusCode, body)
			}
			return pr.RequestURI
		}

		for _, tc := range []struct {
			name   string
			pusher *dpopHolder
			extra  url.Values
			// status and error of the push when refused
			status int
			err    string
		}{
			{"PAR with dpop_jkt", nil, url.Values{"dpop_jkt": {holder.jkt(t)}}, 0, ""},
			{"PAR with a DPoP proof", holder, nil, 0, ""},
			{"PAR with both, one key", holder, url.Values{"dpop_jkt": {holder.jkt(t)}}, 0, ""},
			{"PAR with both, two keys", holder, url.Values{"dpop_jkt": {thief.jkt(t)}}, http.StatusBadRequest, "invalid_request"},
			{"PAR with a malformed dpop_jkt", nil, url.Values{"dpop_jkt": {"nope"}}, http.StatusBadRequest, "invalid_request"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := r.start()
				resp, body := pushDPoP(t, tc.pusher, f, tc.extra)
				if tc.status != 0 {
					if resp.StatusCode != tc.status || oauthError(body) != tc.err {
						t.Fatalf("push: %d %s, want %d %s", resp.StatusCode, body, tc.status, tc.err)
					}
					return
				}
				c := code(t, authorizeURI(p.URL, "app-a", requestURI(t, resp, body)), f)
				if _, err := r.exchange(c, f); err == nil {
					t.Fatal("a code pushed with a DPoP key was exchanged without a proof")
				}
				// A fresh push: the refused exchange consumed that code.
				f = r.start()
				resp, body = pushDPoP(t, tc.pusher, f, tc.extra)
				bound(t, code(t, authorizeURI(p.URL, "app-a", requestURI(t, resp, body)), f), f)
			})
		}
	})
}

// TestDPoPJKTInRequestObject: dpop_jkt inside a signed request object
// (RFC 9101; RFC 9449 §10) binds the code like the plain parameter: no
// proof is invalid_grant, a proof by the key gets DPoP-bound tokens, and a
// malformed value is invalid_request at the object's redirect URI.
func TestDPoPJKTInRequestObject(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		p.addUser(t, "alice", alicePassword)
		ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		jar := signer{t: t, key: ecKey, alg: jose.ES256, kid: "jar-1"}
		p.addClient(t, storage.Client{ID: "jar", Name: "JAR", AuthMethod: storage.AuthMethodPrivateKeyJWT,
			RedirectURIs: []string{redirectA}, JWKS: jar.jwks()})
		r := newRP(t, p.URL, "jar", "", redirectA)
		holder := newDPoPHolder(t, p)
		br := newBrowser(t, p.URL)
		exchange := func(t *testing.T, code string, f *flow, h *dpopHolder) (int, map[string]any) {
			t.Helper()
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectA},
				"code_verifier": {f.verifier}, "client_id": {"jar"}, "client_assertion_type": {assertionType},
				"client_assertion": {jar.sign(claimsFor("jar", p.URL+"/token", p.Clock.Now()))}}
			build := func(proof string) *http.Request {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.URL+"/token", strings.NewReader(form.Encode()))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if proof != "" {
					req.Header.Set("DPoP", proof)
				}
				return req
			}
			var resp *http.Response
			var body string
			if h == nil {
				res, err := http.DefaultClient.Do(build(""))
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				resp, body = res, string(b)
			} else {
				resp, body = h.do(t, build, http.MethodPost, p.URL+"/token", "")
			}
			var out map[string]any
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				t.Fatalf("token answer %d %q: %v", resp.StatusCode, body, err)
			}
			return resp.StatusCode, out
		}

		f := r.start()
		page, body := br.visit(jarURL(p.URL, "jar", requestObject(jar, f, t, p.URL, "jar", p.Clock.Now(), map[string]any{"dpop_jkt": holder.jkt(t)})))
		resp, _ := br.submit(page, body, map[string]string{"username": "alice", "password": alicePassword})
		if status, out := exchange(t, r.callbackParams(resp, f, p.URL).Get("code"), f, nil); status != http.StatusBadRequest || out["error"] != "invalid_grant" {
			t.Fatalf("exchange without a proof: %d %v, want invalid_grant", status, out)
		}

		f = r.start()
		resp, _ = br.visit(jarURL(p.URL, "jar", requestObject(jar, f, t, p.URL, "jar", p.Clock.Now(), map[string]any{"dpop_jkt": holder.jkt(t)})))
		if status, out := exchange(t, r.callbackParams(resp, f, p.URL).Get("code"), f, holder); status != http.StatusOK || out["token_type"] != "DPoP" {
			t.Fatalf("exchange with the named key: %d %v, want DPoP tokens", status, out)
		}

		f = r.start()
		resp, _ = br.visit(jarURL(p.URL, "jar", requestObject(jar, f, t, p.URL, "jar", p.Clock.Now(), map[string]any{"dpop_jkt": "not-a-thumbprint"})))
		if q := r.callbackParams(resp, f, p.URL); q.Get("error") != "invalid_request" || q.Get("code") != "" {
			t.Fatalf("malformed dpop_jkt in the object: %v, want error=invalid_request", q)
		}
	})
}
