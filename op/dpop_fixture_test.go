package op

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/storagetest"
)

// dpopFixture is a Provider with DPoP and nonces on, served by a mux, on
// a memory store with a confidential client "machine" (secret "s",
// client_credentials), a public client "spa" (refresh tokens), a
// confidential DPoP-required client "strict" and the user alice.
type dpopFixture struct {
	p     *Provider
	store *memory.Store
	clock *storagetest.Clock
	mux   *http.ServeMux
}

func newDPoPFixture(t *testing.T) *dpopFixture {
	t.Helper()
	clock := newKeyClock()
	store := memory.New()
	k := ensuredKeys(t, store, clock.Now, jose.RS256, jose.ES256)
	p, err := New(Config{Issuer: checklistIssuer, Store: store, Keys: k, Browser: stubBrowser{}, Sessions: stubSessions{store},
		Now: clock.Now, Logger: slog.New(slog.DiscardHandler), DPoP: true, DPoPNonce: true, ClientCacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, now := t.Context(), clock.Now()
	for _, c := range []*storage.Client{
		{ID: "machine", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
			SecretHash: storage.HashToken("s"), GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}},
		{ID: "strict", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb, DPoPBoundAccessTokens: true,
			SecretHash: storage.HashToken("s"), GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}},
		{ID: "spa", AuthMethod: storage.AuthMethodNone, ApplicationType: storage.ApplicationWeb,
			RedirectURIs: []string{"https://spa.test/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"},
			Scopes: []string{"openid", "profile", "offline_access"}},
	} {
		c.Name, c.CreatedAt, c.UpdatedAt = c.ID, now, now
		must(t, store.CreateClient(ctx, c))
	}
	must(t, store.CreateUser(ctx, &storage.User{ID: "u-alice", Username: "alice", CreatedAt: now, UpdatedAt: now}))
	mux := http.NewServeMux()
	p.Routes(mux)
	return &dpopFixture{p: p, store: store, clock: clock, mux: mux}
}

// do serves r and returns the recorded response.
func (f *dpopFixture) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.mux.ServeHTTP(w, r)
	return w
}

// tokenRequest is a POST to /token with form and, unless empty, proofs.
func tokenRequest(form url.Values, basic string, proofs ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, checklistIssuer+PathToken, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != "" {
		r.SetBasicAuth(basic, "s")
	}
	for _, p := range proofs {
		r.Header.Add(headerDPoP, p)
	}
	return r
}

// dpopKey is a client's DPoP key pair.
type dpopKey struct{ priv *ecdsa.PrivateKey }

func newDPoPKey(t *testing.T) dpopKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return dpopKey{k}
}

// jkt is the key's RFC 7638 thumbprint.
func (k dpopKey) jkt(t *testing.T) string {
	t.Helper()
	sum, err := (&jose.JSONWebKey{Key: &k.priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

// proofSpec is a proof to make; the zero value of each field means the
// correct one.
type proofSpec struct {
	htm, htu, jti, ath, nonce, typ, alg string
	iat                                 time.Time
	noATH, noNonce, privateJWK          bool
	tamper                              bool // a signature over other bytes
}

// proof signs a DPoP proof (RFC 9449 §4.2) by hand, so that malformed
// ones can be made too. accessToken sets ath unless s says otherwise.
func (f *dpopFixture) proof(t *testing.T, k dpopKey, s proofSpec, method, path, accessToken string) string {
	t.Helper()
	pub := &jose.JSONWebKey{Key: &k.priv.PublicKey}
	if s.privateJWK {
		pub = &jose.JSONWebKey{Key: k.priv}
	}
	jwk, err := pub.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	header, _ := json.Marshal(map[string]any{"typ": or(s.typ, typDPoPProof), "alg": or(s.alg, "ES256"), "jwk": json.RawMessage(jwk)})
	claims := map[string]any{"jti": or(s.jti, storage.NewID()), "htm": or(s.htm, method), "htu": or(s.htu, checklistIssuer+path)}
	iat := f.clock.Now()
	if !s.iat.IsZero() {
		iat = s.iat
	}
	claims["iat"] = iat.Unix()
	if accessToken != "" && !s.noATH {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = or(s.ath, base64.RawURLEncoding.EncodeToString(sum[:]))
	}
	if !s.noNonce {
		claims["nonce"] = or(s.nonce, f.p.dpopNonces.current(f.clock.Now()))
	}
	payload, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	if s.alg == "none" {
		return input + "."
	}
	signed := input
	if s.tamper {
		signed += "x"
	}
	sum := sha256.Sum256([]byte(signed))
	r, sv, err := ecdsa.Sign(rand.Reader, k.priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := append(pad32(r), pad32(sv)...)
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func pad32(n *big.Int) []byte {
	b := make([]byte, 32)
	return n.FillBytes(b)
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// oauthError decodes an OAuth error body.
func oauthError(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &e)
	return e.Error
}

// tokenResponse decodes a token response and the access token's claims
// (unverified; the provider signed them).
func tokenResponse(t *testing.T, w *httptest.ResponseRecorder) (map[string]any, map[string]any) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("token endpoint: %d %s", w.Code, w.Body)
	}
	var resp map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	at, _ := resp["access_token"].(string)
	parts := strings.Split(at, ".")
	if len(parts) != 3 {
		t.Fatalf("access token %q is not a JWT", at)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return resp, claims
}

// cnfJKT returns the cnf.jkt of access-token claims, "" when absent.
func cnfJKT(claims map[string]any) string {
	cnf, _ := claims["cnf"].(map[string]any)
	jkt, _ := cnf["jkt"].(string)
	return jkt
}
