package oidc

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/web/connector"
)

// fakeOP is a minimal OpenID Provider: discovery, JWKS and a token
// endpoint that returns an ID token with the claims the test chose,
// signed with its key (or another key, for a forged signature).
type fakeOP struct {
	srv    *httptest.Server
	key    *rsa.PrivateKey
	forger *rsa.PrivateKey
	claims func(op *fakeOP) map[string]any
	forge  bool
	status int // of the token endpoint; 0: 200
	// verifier is the PKCE verifier the token request must carry.
	verifier string
}

func newFakeOP(t *testing.T) *fakeOP {
	t.Helper()
	op := &fakeOP{}
	var err error
	if op.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if op.forger, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	op.srv = httptest.NewServer(http.HandlerFunc(op.serve))
	t.Cleanup(op.srv.Close)
	return op
}

func (op *fakeOP) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": op.srv.URL, "authorization_endpoint": op.srv.URL + "/authorize",
			"token_endpoint": op.srv.URL + "/token", "jwks_uri": op.srv.URL + "/jwks", "end_session_endpoint": op.srv.URL + "/logout",
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	case "/jwks":
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &op.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	case "/token":
		_ = r.ParseForm()
		if op.status != 0 {
			w.WriteHeader(op.status)
			_, _ = w.Write([]byte(`{"error":"server_error"}`))
			return
		}
		if r.PostForm.Get("code_verifier") != op.verifier || r.PostForm.Get("code") != "the-code" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		key := op.key
		if op.forge {
			key = op.forger
		}
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
		body, _ := json.Marshal(op.claims(op))
		jws, _ := signer.Sign(body)
		idt, _ := jws.CompactSerialize()
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "id_token": idt, "expires_in": 300})
	default:
		http.NotFound(w, r)
	}
}

func TestOIDCCallback(t *testing.T) {
	const nonce = "the-nonce"
	good := func(op *fakeOP) map[string]any {
		return map[string]any{"iss": op.srv.URL, "aud": "monban", "sub": "u-123", "nonce": nonce,
			"exp": time.Now().Add(time.Minute).Unix(), "iat": time.Now().Unix(),
			"preferred_username": "carol", "email": "carol@example.test", "email_verified": true, "name": "Carol",
			"roles": []string{"ops", "eng", "eng"}, "hd": "example.test", "tid": "tenant-1", "amr": []string{"pwd", "mfa"}}
	}
	with := func(k string, v any) func(*fakeOP) map[string]any {
		return func(op *fakeOP) map[string]any { c := good(op); c[k] = v; return c }
	}
	want := connector.Identity{ConnectorID: "up", Subject: "u-123", Username: "carol", Email: "carol@example.test",
		EmailVerified: true, Name: "Carol"}
	tests := []struct {
		name    string
		claims  func(*fakeOP) map[string]any
		cfg     func(*connector.Config)
		forge   bool
		status  int
		query   url.Values
		want    func() connector.Identity
		wantErr error
	}{
		{name: "verified", claims: good, want: func() connector.Identity { return want }},
		{name: "claim mapping, groups, trusted amr, hd and tid allowed", claims: good,
			cfg: func(c *connector.Config) {
				c.Claims = connector.ClaimMapping{Username: "email", Groups: "roles"}
				c.TrustAMR, c.HostedDomains, c.TenantIDs = true, []string{"example.test"}, []string{"tenant-1"}
			},
			want: func() connector.Identity {
				w := want
				w.Username, w.Groups, w.AMR = "carol@example.test", []string{"eng", "ops"}, []string{"mfa", "pwd"}
				return w
			}},
		{name: "email_verified false is honoured", claims: with("email_verified", false),
			want: func() connector.Identity { w := want; w.EmailVerified = false; return w }},
		{name: "email_verified as a string", claims: with("email_verified", "true"), want: func() connector.Identity { return want }},
		{name: "wrong issuer", claims: with("iss", "https://evil.example"), wantErr: connector.ErrInvalidResponse},
		{name: "wrong audience", claims: with("aud", "another-client"), wantErr: connector.ErrInvalidResponse},
		{name: "wrong nonce", claims: with("nonce", "replayed"), wantErr: connector.ErrInvalidResponse},
		{name: "expired", claims: with("exp", time.Now().Add(-time.Hour).Unix()), wantErr: connector.ErrInvalidResponse},
		{name: "forged signature", claims: good, forge: true, wantErr: connector.ErrInvalidResponse},
		{name: "other hosted domain", claims: with("hd", "evil.example"),
			cfg: func(c *connector.Config) { c.HostedDomains = []string{"example.test"} }, wantErr: connector.ErrUpstreamRefused},
		{name: "other tenant", claims: good, cfg: func(c *connector.Config) { c.TenantIDs = []string{"tenant-2"} },
			wantErr: connector.ErrUpstreamRefused},
		{name: "error parameter", claims: good, query: url.Values{"error": {"access_denied"}}, wantErr: connector.ErrUpstreamRefused},
		{name: "iss parameter of another issuer (RFC 9207)", claims: good,
			query: url.Values{"code": {"the-code"}, "iss": {"https://evil.example"}}, wantErr: connector.ErrInvalidResponse},
		{name: "token endpoint down", claims: good, status: http.StatusBadGateway, wantErr: connector.ErrUpstreamUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := newFakeOP(t)
			op.claims, op.forge, op.status, op.verifier = tc.claims, tc.forge, tc.status, "verifier-0123456789-0123456789-0123456789"
			cfg := connector.Config{ID: "up", Type: connector.TypeOIDC, ClientID: "monban", ClientSecret: "s", Issuer: op.srv.URL}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			c, err := New(cfg, op.srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Prepare(t.Context()); err != nil {
				t.Fatal(err)
			}
			au, _ := url.Parse(c.AuthCodeURL("https://id.example/cb", "st", nonce, op.verifier))
			if q := au.Query(); q.Get("nonce") != nonce || q.Get("code_challenge_method") != "S256" || q.Get("state") != "st" {
				t.Fatalf("authorization URL %s", au)
			}
			q := tc.query
			if q == nil {
				q = url.Values{"code": {"the-code"}, "state": {"st"}}
			}
			got, err := c.HandleCallback(t.Context(), "https://id.example/cb", q, nonce, op.verifier)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w := tc.want(); !reflect.DeepEqual(got, w) {
				t.Fatalf("identity\n got %+v\nwant %+v", got, w)
			}
			if es := c.EndSessionURL(t.Context(), "https://id.example/logged-out"); es != op.srv.URL+"/logout?client_id=monban&post_logout_redirect_uri=https%3A%2F%2Fid.example%2Flogged-out" {
				t.Fatalf("end session URL %s", es)
			}
		})
	}
}

// TestOIDCDownAtDiscovery: an unreachable upstream fails Prepare in time
// with ErrUpstreamUnavailable; a later try reaches it.
func TestOIDCDownAtDiscovery(t *testing.T) {
	op := newFakeOP(t)
	cfg := connector.Config{ID: "up", Type: connector.TypeOIDC, ClientID: "monban", ClientSecret: "s",
		Issuer: "http://127.0.0.1:1", Timeout: time.Second}
	c, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Prepare(t.Context()); !errors.Is(err, connector.ErrUpstreamUnavailable) {
		t.Fatalf("Prepare = %v", err)
	}
	if c.AuthCodeURL("https://id.example/cb", "s", "n", "v") != "" {
		t.Fatal("an authorization URL without discovery")
	}
	c.cfg.Issuer = op.srv.URL
	if err := c.Prepare(t.Context()); err != nil {
		t.Fatalf("retry: %v", err)
	}
}
