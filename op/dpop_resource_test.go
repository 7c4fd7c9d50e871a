package op

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// boundUserToken returns a DPoP-bound access token of alice (openid) for
// the public client, bound to key.
func (f *dpopFixture) boundUserToken(t *testing.T, key dpopKey) string {
	t.Helper()
	spa, err := f.store.GetClient(t.Context(), "spa")
	must(t, err)
	jkt := ""
	if key.priv != nil {
		jkt = key.jkt(t)
	}
	resp, err := f.p.issueTokens(t.Context(), spa, grant{userID: "u-alice", scopes: []string{"openid", "offline_access"},
		authTime: f.clock.Now(), offline: true, jkt: jkt}, nil)
	must(t, err)
	b, _ := json.Marshal(resp.Data)
	var r struct {
		AccessToken string `json:"access_token"`
	}
	must(t, json.Unmarshal(b, &r))
	return r.AccessToken
}

// TestDPoPUserInfo: UserInfo takes a DPoP-bound token with the DPoP
// scheme and a proof by its key (RFC 9449 §7.1), and refuses it with 401
// and a DPoP challenge carrying the RFC's code otherwise: as a Bearer
// token (§7.2), without a proof, with a proof by another key, without or
// with a wrong ath, replayed, for another method, or without the server's
// nonce (use_dpop_nonce, §9).
func TestDPoPUserInfo(t *testing.T) {
	f := newDPoPFixture(t)
	keyA, keyB := newDPoPKey(t), newDPoPKey(t)
	token := f.boundUserToken(t, keyA)
	unbound := f.boundUserToken(t, dpopKey{})
	req := func(scheme, tok string, proofs ...string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, checklistIssuer+PathUserinfo, nil)
		r.Header.Set("Authorization", scheme+" "+tok)
		for _, p := range proofs {
			r.Header.Add(headerDPoP, p)
		}
		return r
	}
	proof := func(k dpopKey, s proofSpec) string { return f.proof(t, k, s, http.MethodGet, PathUserinfo, token) }

	w := f.do(req("DPoP", token, proof(keyA, proofSpec{})))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"sub":"u-alice"`) {
		t.Fatalf("bound token with its proof: %d %s", w.Code, w.Body)
	}
	if !f.p.dpopNonces.valid(w.Header().Get(headerDPoPNonce), f.clock.Now()) {
		t.Error("no current DPoP-Nonce on the answer")
	}
	replayed := proof(keyA, proofSpec{})
	if w := f.do(req("DPoP", token, replayed)); w.Code != http.StatusOK {
		t.Fatalf("first use: %d %s", w.Code, w.Body)
	}
	for _, tc := range []struct {
		name string
		r    *http.Request
		want string
	}{
		{"bound token as Bearer", req("Bearer", token), "invalid_token"},
		{"bound token as Bearer with a proof", req("Bearer", token, proof(keyA, proofSpec{})), "invalid_token"},
		{"no proof", req("DPoP", token), errCodeInvalidDPoPProof},
		{"key B", req("DPoP", token, proof(keyB, proofSpec{})), errCodeInvalidDPoPProof},
		{"missing ath", req("DPoP", token, proof(keyA, proofSpec{noATH: true})), errCodeInvalidDPoPProof},
		{"wrong ath", req("DPoP", token, proof(keyA, proofSpec{ath: "AAAA"})), errCodeInvalidDPoPProof},
		{"replayed", req("DPoP", token, replayed), errCodeInvalidDPoPProof},
		{"wrong htm", req("DPoP", token, proof(keyA, proofSpec{htm: "POST"})), errCodeInvalidDPoPProof},
		{"expired", req("DPoP", token, proof(keyA, proofSpec{iat: f.clock.Now().Add(-5 * time.Minute)})), errCodeInvalidDPoPProof},
		{"no nonce", req("DPoP", token, proof(keyA, proofSpec{noNonce: true})), errCodeUseDPoPNonce},
		{"unbound token with the DPoP scheme", req("DPoP", unbound, f.proof(t, keyA, proofSpec{}, http.MethodGet, PathUserinfo, unbound)), "invalid_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(tc.r)
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("%d %s, want 401", w.Code, w.Body)
			}
			got := w.Header().Get("WWW-Authenticate")
			if !strings.HasPrefix(got, "DPoP ") || !strings.Contains(got, `error="`+tc.want+`"`) {
				t.Errorf("WWW-Authenticate %q, want a DPoP challenge with error=%q", got, tc.want)
			}
			if strings.Contains(w.Body.String(), "u-alice") {
				t.Error("claims released")
			}
		})
	}
	// An unbound token keeps working as a Bearer token.
	if w := f.do(req("Bearer", unbound)); w.Code != http.StatusOK {
		t.Errorf("unbound Bearer token: %d %s", w.Code, w.Body)
	}
	// Without a token both schemes are offered (RFC 9449 §7.1).
	w = f.do(httptest.NewRequest(http.MethodGet, checklistIssuer+PathUserinfo, nil))
	if ch := w.Header().Values("WWW-Authenticate"); w.Code != http.StatusUnauthorized || len(ch) != 2 {
		t.Errorf("no token: %d, challenges %q; want 401 with Bearer and DPoP", w.Code, ch)
	}
}

// TestDPoPIntrospection: introspection of a DPoP-bound token names its
// key (cnf.jkt, RFC 9449 §6.2) and token_type DPoP; a Bearer token has
// neither.
func TestDPoPIntrospection(t *testing.T) {
	f := newDPoPFixture(t)
	key := newDPoPKey(t)
	introspect := func(tok string) map[string]any {
		r := httptest.NewRequest(http.MethodPost, checklistIssuer+PathIntrospection,
			strings.NewReader(url.Values{"token": {tok}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("machine", "s")
		w := f.do(r)
		var out map[string]any
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &out) != nil {
			t.Fatalf("introspect: %d %s", w.Code, w.Body)
		}
		return out
	}
	resp, _ := tokenResponse(t, f.do(tokenRequest(ccForm, "machine", f.proof(t, key, proofSpec{}, http.MethodPost, PathToken, ""))))
	got := introspect(resp["access_token"].(string))
	if got["active"] != true || got["token_type"] != tokenTypeDPoP || cnfJKT(got) != key.jkt(t) {
		t.Errorf("bound token: %v", got)
	}
	resp, _ = tokenResponse(t, f.do(tokenRequest(ccForm, "machine")))
	got = introspect(resp["access_token"].(string))
	if got["active"] != true || got["token_type"] != "Bearer" || got["cnf"] != nil {
		t.Errorf("bearer token: %v", got)
	}
}

// TestDPoPDiscovery: dpop_signing_alg_values_supported is advertised
// exactly when DPoP is enabled (RFC 9449 §5.1), without none or HS*.
func TestDPoPDiscovery(t *testing.T) {
	for _, on := range []bool{true, false} {
		f := newDPoPFixture(t)
		f.p.cfg.DPoP = on
		b, err := f.p.discoveryDocument()
		must(t, err)
		var doc map[string]any
		must(t, json.Unmarshal(b, &doc))
		algs, present := doc["dpop_signing_alg_values_supported"].([]any)
		if present != on {
			t.Errorf("DPoP %v: dpop_signing_alg_values_supported present = %v", on, present)
		}
		for _, a := range algs {
			if s := a.(string); s == "none" || strings.HasPrefix(s, "HS") {
				t.Errorf("advertised alg %q", s)
			}
		}
	}
}

// TestDPoPDisabled: with DPoP off the proof header is ignored and a
// Bearer token issued (RFC 9449 §5), and UserInfo knows no DPoP scheme.
func TestDPoPDisabled(t *testing.T) {
	f := newDPoPFixture(t)
	f.p.cfg.DPoP = false
	key := newDPoPKey(t)
	resp, claims := tokenResponse(t, f.do(tokenRequest(ccForm, "machine", f.proof(t, key, proofSpec{}, http.MethodPost, PathToken, ""))))
	if resp["token_type"] != "Bearer" || claims["cnf"] != nil {
		t.Errorf("DPoP off: token_type %v, cnf %v", resp["token_type"], claims["cnf"])
	}
}

// TestDPoPNonces: a nonce is accepted in its window and the next, and
// refused later, tampered or under another key.
func TestDPoPNonces(t *testing.T) {
	n := dpopNonces{key: []byte("k1"), window: dpopNonceWindow}
	other := dpopNonces{key: []byte("k2"), window: dpopNonceWindow}
	t0 := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
	nonce := n.current(t0)
	tampered := []byte(nonce)
	tampered[len(tampered)-1] ^= 1
	for _, tc := range []struct {
		name  string
		nonce string
		at    time.Time
		ok    bool
	}{
		{"same window", nonce, t0.Add(time.Minute), true},
		{"next window", nonce, t0.Add(dpopNonceWindow), true},
		{"two windows later", nonce, t0.Add(2 * dpopNonceWindow), false},
		{"from the future", n.current(t0.Add(dpopNonceWindow)), t0, false},
		{"tampered", string(tampered), t0, false},
		{"other key", other.current(t0), t0, false},
		{"empty", "", t0, false},
		{"not base64", "!!!", t0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := n.valid(tc.nonce, tc.at); got != tc.ok {
				t.Errorf("valid = %v, want %v", got, tc.ok)
			}
		})
	}
}

// TestSameHTU: htu comparison per RFC 9449 §4.3 item 9 and RFC 3986 §6.2.
func TestSameHTU(t *testing.T) {
	for _, tc := range []struct {
		htu, uri string
		ok       bool
	}{
		{"https://id.test/token", "https://id.test/token", true},
		{"https://id.test/token?x=1#y", "https://id.test/token", true},
		{"HTTPS://Id.Test:443/token", "https://id.test/token", true},
		{"http://id.test:80/token", "http://id.test/token", true},
		{"https://id.test:8443/token", "https://id.test/token", false},
		{"http://id.test/token", "https://id.test/token", false},
		{"https://id.test/Token", "https://id.test/token", false},
		{"https://id.test/token/", "https://id.test/token", false},
		{"/token", "https://id.test/token", false},
		{"https://user@id.test/token", "https://id.test/token", false},
	} {
		if got := sameHTU(tc.htu, tc.uri); got != tc.ok {
			t.Errorf("sameHTU(%q, %q) = %v, want %v", tc.htu, tc.uri, got, tc.ok)
		}
	}
}

// TestDPoPNonceRemembered: the nonce current remembers for its window is
// the one the window's HMAC makes, and a new window (later or, after a
// clock step, earlier) gets its own.
func TestDPoPNonceRemembered(t *testing.T) {
	n := dpopNonces{key: []byte("k1"), window: dpopNonceWindow}
	t0 := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		at   time.Time
	}{
		{"first", t0},
		{"same window, remembered", t0.Add(time.Second)},
		{"next window", t0.Add(dpopNonceWindow)},
		{"back to the first window", t0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := n.current(tc.at), n.make(n.slot(tc.at)); got != want {
				t.Errorf("current = %q, want %q", got, want)
			}
		})
	}
	if n.current(t0) == n.current(t0.Add(dpopNonceWindow)) {
		t.Error("two windows share a nonce")
	}
}
