package op

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

var ccForm = url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}}

// TestDPoPTokenEndpointProofs: a valid proof at /token binds the access
// token (cnf.jkt = the key's RFC 7638 thumbprint, token_type DPoP, RFC
// 9449 §5, §6.1); every fault of RFC 9449 §4.3 is answered 400 with the
// RFC's error code (invalid_dpop_proof, or use_dpop_nonce with a fresh
// nonce, §8) and issues nothing.
func TestDPoPTokenEndpointProofs(t *testing.T) {
	f := newDPoPFixture(t)
	key := newDPoPKey(t)
	now := f.clock.Now()
	good := func() string { return f.proof(t, key, proofSpec{}, http.MethodPost, PathToken, "") }

	resp, claims := tokenResponse(t, f.do(tokenRequest(ccForm, "machine", good())))
	if resp["token_type"] != tokenTypeDPoP || cnfJKT(claims) != key.jkt(t) {
		t.Fatalf("token_type %v, cnf.jkt %q; want DPoP and %q", resp["token_type"], cnfJKT(claims), key.jkt(t))
	}
	// Query and fragment of htu are ignored (§4.3 item 9); scheme and host
	// compare case-insensitively, the default port is dropped.
	for _, htu := range []string{checklistIssuer + PathToken + "?a=b", "HTTPS://ID.TEST:443" + PathToken + "#f"} {
		w := f.do(tokenRequest(ccForm, "machine", f.proof(t, key, proofSpec{htu: htu}, http.MethodPost, PathToken, "")))
		if w.Code != http.StatusOK {
			t.Errorf("htu %q: %d %s, want 200", htu, w.Code, w.Body)
		}
	}

	replayed := good()
	if w := f.do(tokenRequest(ccForm, "machine", replayed)); w.Code != http.StatusOK {
		t.Fatalf("first use of a proof: %d %s", w.Code, w.Body)
	}
	oldNonce := f.p.dpopNonces.current(now.Add(-2 * dpopNonceWindow))
	for _, tc := range []struct {
		name   string
		proofs []string
		want   string
	}{
		{"replayed jti", []string{replayed}, errCodeInvalidDPoPProof},
		{"iat too old", []string{f.proof(t, key, proofSpec{iat: now.Add(-2 * time.Minute)}, http.MethodPost, PathToken, "")}, errCodeInvalidDPoPProof},
		{"iat in the future", []string{f.proof(t, key, proofSpec{iat: now.Add(2 * time.Minute)}, http.MethodPost, PathToken, "")}, errCodeInvalidDPoPProof},
		{"wrong htm", []string{f.proof(t, key, proofSpec{htm: "GET"}, http.MethodPost, PathToken, "")}, errCodeInvalidDPoPProof},
		{"wrong htu path", []string{f.proof(t, key, proofSpec{}, http.MethodPost, PathUserinfo, "")}, errCodeInvalidDPoPProof},
		{"wrong htu host", []string{f.proof(t, key, proofSpec{htu: "https://evil.test" + PathToken}, http.MethodPost, PathToken, "")}, errCodeInvalidDPoPProof},
		{"bad signature", []string{f.proof(t, key, proofSpec{tamper: true}, http.MethodPost, PathToken, "")}, errCodeInvalidDPoPProof},
		{"alg none", []string{f.proof(t, key, proofSpec{alg: "none"}, http.MethodPost, PathToken, "")}, errCodeInvalidDPoPProof},
		{"alg HS256", []string{f.proof(t, key, proofSpec{alg: "HS256"}, http.MethodPost, PathToken, "")}, errCodeInvalidDPoPProof},
		{"typ JWT", []string{f.proof(t, key, proofSpec{typ: "JWT"}, http.MethodPost, PathToken, "")}, errCodeInvalidDPoPProof},
		{"private key in jwk", []string{f.proof(t, key, proofSpec{privateJWK: true}, http.MethodPost, PathToken, "")}, errCodeInvalidDPoPProof},
		{"not a JWT", []string{"not-a-proof"}, errCodeInvalidDPoPProof},
		{"two proofs", []string{good(), good()}, errCodeInvalidDPoPProof},
		{"no nonce", []string{f.proof(t, key, proofSpec{noNonce: true}, http.MethodPost, PathToken, "")}, errCodeUseDPoPNonce},
		{"stale nonce", []string{f.proof(t, key, proofSpec{nonce: oldNonce}, http.MethodPost, PathToken, "")}, errCodeUseDPoPNonce},
		{"forged nonce", []string{f.proof(t, key, proofSpec{nonce: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, http.MethodPost, PathToken, "")}, errCodeUseDPoPNonce},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(tokenRequest(ccForm, "machine", tc.proofs...))
			if w.Code != http.StatusBadRequest || oauthError(t, w) != tc.want {
				t.Fatalf("%d %s, want 400 %s", w.Code, w.Body, tc.want)
			}
			if strings.Contains(w.Body.String(), "access_token") {
				t.Error("a refused proof got a token")
			}
			if n := w.Header().Get(headerDPoPNonce); !f.p.dpopNonces.valid(n, f.clock.Now()) {
				t.Errorf("DPoP-Nonce %q is not a current nonce", n)
			}
		})
	}
}

// TestDPoPRequiredClient: a client registered with
// dpop_bound_access_tokens (RFC 9449 §5.2) gets no token without a proof;
// other clients get a Bearer token without one.
func TestDPoPRequiredClient(t *testing.T) {
	f := newDPoPFixture(t)
	if w := f.do(tokenRequest(ccForm, "strict")); w.Code != http.StatusBadRequest || oauthError(t, w) != errCodeInvalidDPoPProof {
		t.Errorf("DPoP-bound client without a proof: %d %s, want 400 invalid_dpop_proof", w.Code, w.Body)
	}
	key := newDPoPKey(t)
	resp, claims := tokenResponse(t, f.do(tokenRequest(ccForm, "strict", f.proof(t, key, proofSpec{}, http.MethodPost, PathToken, ""))))
	if resp["token_type"] != tokenTypeDPoP || cnfJKT(claims) != key.jkt(t) {
		t.Errorf("DPoP-bound client with a proof: token_type %v, cnf %q", resp["token_type"], cnfJKT(claims))
	}
	resp, claims = tokenResponse(t, f.do(tokenRequest(ccForm, "machine")))
	if resp["token_type"] != "Bearer" || claims["cnf"] != nil {
		t.Errorf("client without a proof: token_type %v, cnf %v, want Bearer and none", resp["token_type"], claims["cnf"])
	}
}

// TestDPoPPublicRefreshFamily: a public client's refresh family is bound
// to the proof's key at the code exchange (RFC 9449 §5): a refresh
// without a proof, or with another key's, is invalid_dpop_proof and
// rotates nothing; with the key it rotates, and the successor stays bound.
func TestDPoPPublicRefreshFamily(t *testing.T) {
	f := newDPoPFixture(t)
	ctx := t.Context()
	keyA, keyB := newDPoPKey(t), newDPoPKey(t)
	spa, err := f.store.GetClient(ctx, "spa")
	must(t, err)
	resp, err := f.p.issueTokens(ctx, spa, grant{userID: "u-alice", scopes: []string{"openid", "offline_access"},
		authTime: f.clock.Now(), offline: true, jkt: keyA.jkt(t)}, nil)
	must(t, err)
	rt := refreshTokenOf(t, resp.Data)
	stored, err := f.store.GetRefreshToken(ctx, storage.TokenKey(rt))
	must(t, err)
	if stored.DPoPJKT != keyA.jkt(t) {
		t.Fatalf("refresh token bound to %q, want %q", stored.DPoPJKT, keyA.jkt(t))
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"spa"}}
	for _, tc := range []struct {
		name   string
		proofs []string
	}{
		{"no proof", nil},
		{"key B", []string{f.proof(t, keyB, proofSpec{}, http.MethodPost, PathToken, "")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(tokenRequest(form, "", tc.proofs...))
			if w.Code != http.StatusBadRequest || oauthError(t, w) != errCodeInvalidDPoPProof {
				t.Fatalf("%d %s, want 400 invalid_dpop_proof", w.Code, w.Body)
			}
			if got, _ := f.store.GetRefreshToken(ctx, storage.TokenKey(rt)); !got.RotatedAt.IsZero() || !got.RevokedAt.IsZero() {
				t.Error("a refused refresh rotated or revoked the token")
			}
		})
	}
	body, claims := tokenResponse(t, f.do(tokenRequest(form, "", f.proof(t, keyA, proofSpec{}, http.MethodPost, PathToken, ""))))
	if body["token_type"] != tokenTypeDPoP || cnfJKT(claims) != keyA.jkt(t) {
		t.Fatalf("refresh with key A: token_type %v, cnf %q", body["token_type"], cnfJKT(claims))
	}
	next, _ := body["refresh_token"].(string)
	if got, err := f.store.GetRefreshToken(ctx, storage.TokenKey(next)); err != nil || got.DPoPJKT != keyA.jkt(t) {
		t.Errorf("successor: %+v, %v; want bound to key A", got, err)
	}
}

// refreshTokenOf returns the refresh_token of a token response value.
func refreshTokenOf(t *testing.T, data any) string {
	t.Helper()
	b, err := json.Marshal(data)
	must(t, err)
	var r struct {
		RefreshToken string `json:"refresh_token"`
	}
	must(t, json.Unmarshal(b, &r))
	if r.RefreshToken == "" {
		t.Fatalf("no refresh token in %s", b)
	}
	return r.RefreshToken
}
