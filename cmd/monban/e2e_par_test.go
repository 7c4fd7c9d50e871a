package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/storage"
)

const requestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// parResponse is the answer of the PAR endpoint (RFC 9126 §2.2).
type parResponse struct {
	RequestURI string `json:"request_uri"`
	ExpiresIn  int    `json:"expires_in"`
}

// push posts form to /par, with Basic authentication when secret is set,
// and returns the status, the decoded answer and the raw body.
func push(t *testing.T, issuer, clientID, secret string, form url.Values) (int, parResponse, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, issuer+"/par", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var pr parResponse
	if resp.StatusCode == http.StatusCreated {
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store (RFC 9126 §2.2)", cc)
		}
		if err := json.Unmarshal(b, &pr); err != nil {
			t.Fatalf("PAR answer %s: %v", b, err)
		}
	}
	return resp.StatusCode, pr, string(b)
}

// flowParams are the authorization request parameters of f (what x/oauth2
// would have put in the /authorize URL), to be pushed instead.
func flowParams(t *testing.T, f *flow) url.Values {
	t.Helper()
	u, err := url.Parse(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// authorizeURI is the front-channel request of RFC 9126 §4.
func authorizeURI(issuer, clientID, requestURI string) string {
	return issuer + "/authorize?" + url.Values{"client_id": {clientID}, "request_uri": {requestURI}}.Encode()
}

// refusedOnPage checks that a fresh browser sent to /authorize with
// clientID and requestURI gets the provider's error page (400), not a
// redirect to any client (RFC 9126 §4: the request_uri is not trusted).
func refusedOnPage(t *testing.T, issuer, clientID, requestURI string) {
	t.Helper()
	resp, body := newBrowser(t, issuer).visit(authorizeURI(issuer, clientID, requestURI))
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("= %d (Location %q), want the 400 error page", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !strings.Contains(body, "This sign-in request has expired") {
		t.Errorf("error page does not say the request expired or was used:\n%.400s", body)
	}
}

// TestPushedAuthorizationRequests: a confidential client pushes its
// request with Basic authentication, the browser arrives with the
// request_uri, the person signs in and the code is exchanged with PKCE;
// the pushed parameters are authoritative; a request_uri reused, expired
// or presented for another client is refused on the error page; bad
// pushes are JSON OAuth errors.
func TestPushedAuthorizationRequests(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		p.addUser(t, "alice", alicePassword)
		secretA := p.addClient(t, storage.Client{ID: "app-a", Name: "App A", RedirectURIs: []string{redirectA}})
		secretB := p.addClient(t, storage.Client{ID: "app-b", Name: "App B", RedirectURIs: []string{redirectB}})
		p.addClient(t, storage.Client{ID: "spa", Name: "SPA", AuthMethod: storage.AuthMethodNone, RedirectURIs: []string{redirectB}})

		r := newRP(t, p.URL, "app-a", secretA, redirectA)
		br := newBrowser(t, p.URL)
		f := r.start()
		status, pr, body := push(t, p.URL, "app-a", secretA, flowParams(t, f))
		if status != http.StatusCreated || !strings.HasPrefix(pr.RequestURI, requestURIPrefix) || pr.ExpiresIn != 60 {
			t.Fatalf("push = %d %s", status, body)
		}
		// Other query parameters are ignored: the state comes back as pushed.
		page, html := br.visit(authorizeURI(p.URL, "app-a", pr.RequestURI) + "&state=forged&redirect_uri=" + url.QueryEscape(redirectB))
		resp, _ := br.submit(page, html, map[string]string{"username": "alice", "password": alicePassword})
		q := r.callbackParams(resp, f, p.URL)
		tok, err := r.exchange(q.Get("code"), f)
		if err != nil {
			t.Fatalf("code exchange after PAR: %v", err)
		}
		if tok.idToken.Subject == "" {
			t.Fatal("ID token without a subject")
		}

		t.Run("reused", func(t *testing.T) {
			refusedOnPage(t, p.URL, "app-a", pr.RequestURI)
		})
		t.Run("expired", func(t *testing.T) {
			_, pr, body := push(t, p.URL, "app-a", secretA, flowParams(t, r.start()))
			if pr.RequestURI == "" {
				t.Fatalf("push: %s", body)
			}
			p.Clock.Advance(61 * time.Second)
			refusedOnPage(t, p.URL, "app-a", pr.RequestURI)
		})
		t.Run("another-client", func(t *testing.T) {
			_, pr, body := push(t, p.URL, "app-a", secretA, flowParams(t, r.start()))
			if pr.RequestURI == "" {
				t.Fatalf("push: %s", body)
			}
			refusedOnPage(t, p.URL, "app-b", pr.RequestURI)
		})
		t.Run("unknown", func(t *testing.T) {
			refusedOnPage(t, p.URL, "app-a", requestURIPrefix+randomString())
		})
		t.Run("not-from-par", func(t *testing.T) {
			// Any other request_uri is one the provider would have to
			// fetch: refused as before PAR, to the registered redirect URI.
			f := r.start(oauth2.SetAuthURLParam("request_uri", "https://app-a.example/request.jwt"))
			resp, _ := newBrowser(t, p.URL).visit(f.URL)
			if q := r.callbackParams(resp, f, p.URL); q.Get("error") != "request_uri_not_supported" {
				t.Errorf("error = %q, want request_uri_not_supported", q.Get("error"))
			}
		})
		t.Run("public-client", func(t *testing.T) {
			spa := newRP(t, p.URL, "spa", "", redirectB)
			form := flowParams(t, spa.start())
			if status, _, body := push(t, p.URL, "spa", "", form); status != http.StatusCreated {
				t.Errorf("public client push = %d %s", status, body)
			}
		})

		good := flowParams(t, r.start())
		with := func(k, v string) url.Values {
			form := url.Values{}
			for key, vals := range good {
				form[key] = vals
			}
			if v == "" {
				form.Del(k)
			} else {
				form.Set(k, v)
			}
			return form
		}
		spaNoPKCE := newRP(t, p.URL, "spa", "", redirectB).start()
		noPKCE := flowParams(t, spaNoPKCE)
		noPKCE.Del("code_challenge")
		noPKCE.Del("code_challenge_method")
		for _, tc := range []struct {
			name, clientID, secret string
			form                   url.Values
			status                 int
			err                    string
		}{
			{"request_uri-pushed", "app-a", secretA, with("request_uri", requestURIPrefix+"x"), 400, "invalid_request"},
			{"wrong-secret", "app-a", "wrong", good, 401, "invalid_client"},
			{"no-authentication", "app-a", "", good, 401, "invalid_client"},
			{"another-clients-secret", "app-a", secretB, good, 401, "invalid_client"},
			{"client_id-mismatch", "app-b", secretB, good, 400, "invalid_request"},
			{"unregistered-redirect_uri", "app-a", secretA, with("redirect_uri", redirectB), 400, "invalid_request"},
			{"no-redirect_uri", "app-a", secretA, with("redirect_uri", ""), 400, "invalid_request"},
			{"no-response_type", "app-a", secretA, with("response_type", ""), 400, "invalid_request"},
			{"implicit", "app-a", secretA, with("response_type", "token"), 400, "unsupported_response_type"},
			{"plain-pkce", "app-a", secretA, with("code_challenge_method", "plain"), 400, "invalid_request"},
			{"unknown-prompt", "app-a", secretA, with("prompt", "sometimes"), 400, "invalid_request"},
			{"public-without-pkce", "spa", "", noPKCE, 400, "invalid_request"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, _, body := push(t, p.URL, tc.clientID, tc.secret, tc.form)
				if status != tc.status || oauthError(body) != tc.err {
					t.Errorf("= %d %s, want %d %s", status, body, tc.status, tc.err)
				}
			})
		}
		t.Run("get", func(t *testing.T) {
			resp, err := http.Get(p.URL + "/par?" + good.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("GET /par = %d, want 405", resp.StatusCode)
			}
		})
	})
}

// TestRequirePAR: a client registered with
// require_pushed_authorization_requests is refused at plain /authorize
// (with an error sent to its registered redirect URI) and served through
// /par; other clients are not affected.
func TestRequirePAR(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		p.addUser(t, "alice", alicePassword)
		secret := p.addClient(t, storage.Client{ID: "strict", Name: "Strict", RedirectURIs: []string{redirectA}, RequirePAR: true})
		r := newRP(t, p.URL, "strict", secret, redirectA)

		f := r.start()
		resp, _ := newBrowser(t, p.URL).visit(f.URL)
		if q := r.callbackParams(resp, f, p.URL); q.Get("error") != "invalid_request" || q.Get("code") != "" {
			t.Fatalf("plain /authorize for a PAR client: %v", q)
		}

		f = r.start()
		_, pr, body := push(t, p.URL, "strict", secret, flowParams(t, f))
		if pr.RequestURI == "" {
			t.Fatalf("push: %s", body)
		}
		br := newBrowser(t, p.URL)
		page, html := br.visit(authorizeURI(p.URL, "strict", pr.RequestURI))
		resp, _ = br.submit(page, html, map[string]string{"username": "alice", "password": alicePassword})
		if _, err := r.exchange(r.callbackParams(resp, f, p.URL).Get("code"), f); err != nil {
			t.Fatalf("code exchange: %v", err)
		}
	})
}

// TestPARPrivateKeyJWT: a private_key_jwt client pushes its request with
// a go-jose assertion whose audience is the PAR endpoint, and completes
// the code flow; a replayed assertion is refused.
func TestPARPrivateKeyJWT(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		p.addUser(t, "alice", alicePassword)
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		svc := signer{t: t, key: key, alg: jose.ES256, kid: "svc-1"}
		p.addClient(t, storage.Client{ID: "svc", Name: "Service", AuthMethod: storage.AuthMethodPrivateKeyJWT,
			RedirectURIs: []string{redirectA}, JWKS: svc.jwks()})
		r := newRP(t, p.URL, "svc", "", redirectA)

		f := r.start()
		form := flowParams(t, f)
		assertion := svc.sign(claimsFor("svc", p.URL+"/par", p.Clock.Now()))
		form.Set("client_assertion_type", assertionType)
		form.Set("client_assertion", assertion)
		status, pr, body := push(t, p.URL, "", "", form)
		if status != http.StatusCreated {
			t.Fatalf("push with private_key_jwt = %d %s", status, body)
		}
		if status, _, body := push(t, p.URL, "", "", form); status != http.StatusUnauthorized || oauthError(body) != "invalid_client" {
			t.Errorf("replayed assertion = %d %s, want 401 invalid_client", status, body)
		}

		br := newBrowser(t, p.URL)
		page, html := br.visit(authorizeURI(p.URL, "svc", pr.RequestURI))
		resp, _ := br.submit(page, html, map[string]string{"username": "alice", "password": alicePassword})
		q := r.callbackParams(resp, f, p.URL)
		tok, err := r.oauth.Exchange(r.ctx, q.Get("code"), oauth2.VerifierOption(f.verifier),
			oauth2.SetAuthURLParam("client_assertion_type", assertionType),
			oauth2.SetAuthURLParam("client_assertion", svc.sign(claimsFor("svc", p.URL+"/token", p.Clock.Now()))))
		if err != nil {
			t.Fatalf("code exchange: %v", err)
		}
		idt, err := r.verifier.Verify(r.ctx, tok.Extra("id_token").(string))
		if err != nil || idt.Nonce != f.nonce {
			t.Fatalf("ID token: %v (nonce %q)", err, idt.Nonce)
		}
	})
}

// TestPARDiscovery: the endpoint is advertised when enabled, the provider
// never requires PAR of every client, request_uri_parameter_supported
// stays false, and with PAR off the endpoint is neither advertised nor
// served.
func TestPARDiscovery(t *testing.T) {
	for _, on := range []bool{true, false} {
		p := newTestServer(t, withConfig(func(c *app.Config) { c.PAR = on }))
		resp, err := http.Get(p.URL + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		endpoint, advertised := doc["pushed_authorization_request_endpoint"]
		if advertised != on || (on && endpoint != p.URL+"/par") {
			t.Errorf("PAR %v: pushed_authorization_request_endpoint = %v", on, endpoint)
		}
		if doc["require_pushed_authorization_requests"] != false || doc["request_uri_parameter_supported"] != false {
			t.Errorf("PAR %v: require_pushed_authorization_requests = %v, request_uri_parameter_supported = %v",
				on, doc["require_pushed_authorization_requests"], doc["request_uri_parameter_supported"])
		}
		if !on {
			status, _ := assertionPost(t, p.URL+"/par", url.Values{"client_id": {"x"}})
			if status != http.StatusNotFound {
				t.Errorf("PAR off: POST /par = %d, want 404", status)
			}
		}
	}
}
