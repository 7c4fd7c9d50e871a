package op

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

// exchangeClients adds to the DPoP fixture two confidential clients
// allowed to exchange tokens for two audiences: "gateway", and "strictgw"
// registered with DPoPBoundAccessTokens. Token exchange is switched on.
func (f *dpopFixture) exchangeClients(t *testing.T) {
	t.Helper()
	f.p.cfg.TokenExchange = true
	now := f.clock.Now()
	for _, c := range []*storage.Client{
		{ID: "gateway"}, {ID: "strictgw", DPoPBoundAccessTokens: true},
	} {
		c.Name, c.AuthMethod, c.ApplicationType, c.SecretHash = c.ID, storage.AuthMethodBasic, storage.ApplicationWeb, storage.HashToken("s")
		c.GrantTypes = []string{GrantTokenExchange, "client_credentials"}
		c.Scopes, c.TokenExchangeAudiences = []string{"api"}, []string{"https://a.test/", "urn:b"}
		c.CreatedAt, c.UpdatedAt = now, now
		must(t, f.store.CreateClient(t.Context(), c))
	}
}

// TestDPoPTokenExchange: a token exchange request binds the issued token
// to its proof's key like the other grants (RFC 9449 §5); a client
// registered with DPoPBoundAccessTokens must send a proof; a DPoP-bound
// subject or actor token is exchanged only with a proof by its own key
// (see TokenExchange), and then the new token stays bound to that key.
func TestDPoPTokenExchange(t *testing.T) {
	f := newDPoPFixture(t)
	f.exchangeClients(t)
	keyA, keyB := newDPoPKey(t), newDPoPKey(t)
	unbound := f.boundUserToken(t, dpopKey{})
	boundA := f.boundUserToken(t, keyA)
	proof := func(k dpopKey) string { return f.proof(t, k, proofSpec{}, http.MethodPost, PathToken, "") }
	actorA, _ := tokenResponse(t, f.do(tokenRequest(ccForm, "gateway", proof(keyA))))
	form := func(subject string, extra ...string) url.Values {
		v := url.Values{"grant_type": {GrantTokenExchange}, "subject_token": {subject},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "audience": {"https://a.test/"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	actor := func(subject string) url.Values {
		return form(subject, "actor_token", actorA["access_token"].(string), "actor_token_type", "urn:ietf:params:oauth:token-type:access_token")
	}
	for _, tc := range []struct {
		name, client string
		form         url.Values
		proof        *dpopKey
		code         string // "" for success
		jkt          *dpopKey
	}{
		{"unbound subject without a proof: bearer", "gateway", form(unbound), nil, "", nil},
		{"unbound subject with a proof: bound to it", "gateway", form(unbound), &keyB, "", &keyB},
		{"bound subject without a proof", "gateway", form(boundA), nil, "invalid_request", nil},
		{"bound subject with another key's proof", "gateway", form(boundA), &keyB, "invalid_request", nil},
		{"bound subject with its key's proof: stays bound", "gateway", form(boundA), &keyA, "", &keyA},
		{"DPoP-required client without a proof", "strictgw", form(unbound), nil, errCodeInvalidDPoPProof, nil},
		{"DPoP-required client with a proof", "strictgw", form(unbound), &keyB, "", &keyB},
		{"bound actor token with another key's proof", "gateway", actor(unbound), &keyB, "invalid_request", nil},
		{"bound actor token with its key's proof", "gateway", actor(unbound), &keyA, "", &keyA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var proofs []string
			if tc.proof != nil {
				proofs = append(proofs, proof(*tc.proof))
			}
			w := f.do(tokenRequest(tc.form, tc.client, proofs...))
			if tc.code != "" {
				if w.Code != http.StatusBadRequest || oauthError(t, w) != tc.code || strings.Contains(w.Body.String(), "access_token") {
					t.Fatalf("%d %s, want 400 %s", w.Code, w.Body, tc.code)
				}
				return
			}
			resp, claims := tokenResponse(t, w)
			wantType, wantJKT := "Bearer", ""
			if tc.jkt != nil {
				wantType, wantJKT = tokenTypeDPoP, tc.jkt.jkt(t)
			}
			if resp["token_type"] != wantType || cnfJKT(claims) != wantJKT {
				t.Errorf("token_type %v, cnf.jkt %q; want %s and %q", resp["token_type"], cnfJKT(claims), wantType, wantJKT)
			}
		})
	}
}

// TestTokenExchangeRepeatedTargets: audience and resource may be repeated
// in a token exchange request (RFC 8693 §2.1); every other parameter, and
// these two in other grants, is still refused when repeated (RFC 6749
// §3.2).
func TestTokenExchangeRepeatedTargets(t *testing.T) {
	f := newDPoPFixture(t)
	f.exchangeClients(t)
	subject := f.boundUserToken(t, dpopKey{})
	base := func(edit func(url.Values)) url.Values {
		v := url.Values{"grant_type": {GrantTokenExchange}, "subject_token": {subject},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}
		edit(v)
		return v
	}
	for _, tc := range []struct {
		name    string
		form    url.Values
		code    string   // "" for success
		wantAud []string // on success
	}{
		{"two audiences", base(func(v url.Values) { v["audience"] = []string{"https://a.test/", "urn:b"} }), "", []string{"https://a.test/", "urn:b"}},
		{"two resources", base(func(v url.Values) { v["resource"] = []string{"urn:b", "https://a.test/"} }), "", []string{"urn:b", "https://a.test/"}},
		{"one allowed, one not", base(func(v url.Values) { v["audience"] = []string{"https://a.test/", "urn:evil"} }), "invalid_target", nil},
		{"repeated scope", base(func(v url.Values) { v.Set("audience", "urn:b"); v["scope"] = []string{"openid", "openid"} }), "invalid_request", nil},
		{"repeated subject_token", base(func(v url.Values) { v.Set("audience", "urn:b"); v["subject_token"] = []string{subject, subject} }), "invalid_request", nil},
		{"repeated grant_type", base(func(v url.Values) {
			v["grant_type"] = []string{GrantTokenExchange, GrantTokenExchange}
			v["audience"] = []string{"https://a.test/", "urn:b"}
		}), "invalid_request", nil},
		{"repeated audience in another grant", url.Values{"grant_type": {"client_credentials"}, "audience": {"urn:b", "urn:b"}}, "invalid_request", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(tokenRequest(tc.form, "gateway"))
			if tc.code != "" {
				if w.Code != http.StatusBadRequest || oauthError(t, w) != tc.code {
					t.Fatalf("%d %s, want 400 %s", w.Code, w.Body, tc.code)
				}
				return
			}
			_, claims := tokenResponse(t, w)
			var aud []string
			for _, a := range claims["aud"].([]any) {
				aud = append(aud, a.(string))
			}
			if !slices.Equal(aud, tc.wantAud) {
				t.Errorf("aud %v, want %v", aud, tc.wantAud)
			}
		})
	}
}

// TestCheckResourceProof: the admin API's proof check (RFC 9449 §7.1)
// accepts one proof for the request's method and URL, with the token's
// ath, by the token's key, once; anything else is a *DPoPProofError with
// the RFC's code and the current nonce. VerifyServiceToken reports the
// binding.
func TestCheckResourceProof(t *testing.T) {
	f := newDPoPFixture(t)
	keyA, keyB := newDPoPKey(t), newDPoPKey(t)
	issue := func(proofs ...string) string {
		resp, _ := tokenResponse(t, f.do(tokenRequest(ccForm, "machine", proofs...)))
		return resp["access_token"].(string)
	}
	bound := issue(f.proof(t, keyA, proofSpec{}, http.MethodPost, PathToken, ""))
	unbound := issue()
	const path = "/admin/api/v1/clients"
	st, err := f.p.VerifyServiceToken(t.Context(), bound)
	if err != nil || st.JKT != keyA.jkt(t) {
		t.Fatalf("VerifyServiceToken of a bound token: %+v, %v; want JKT %q", st, err, keyA.jkt(t))
	}
	if st, err := f.p.VerifyServiceToken(t.Context(), unbound); err != nil || st.JKT != "" {
		t.Fatalf("VerifyServiceToken of a bearer token: %+v, %v; want no JKT", st, err)
	}
	replayed := f.proof(t, keyA, proofSpec{}, http.MethodGet, path, bound)
	for _, tc := range []struct {
		name, method, token string
		proofs              []string
		code                string // "" for success
	}{
		{"its key's proof", "GET", bound, []string{f.proof(t, keyA, proofSpec{}, http.MethodGet, path, bound)}, ""},
		{"first use", "GET", bound, []string{replayed}, ""},
		{"replayed", "GET", bound, []string{replayed}, errCodeInvalidDPoPProof},
		{"another key", "GET", bound, []string{f.proof(t, keyB, proofSpec{}, http.MethodGet, path, bound)}, errCodeInvalidDPoPProof},
		{"no proof", "GET", bound, nil, errCodeInvalidDPoPProof},
		{"two proofs", "GET", bound, []string{f.proof(t, keyA, proofSpec{}, http.MethodGet, path, bound),
			f.proof(t, keyA, proofSpec{}, http.MethodGet, path, bound)}, errCodeInvalidDPoPProof},
		{"another method", "POST", bound, []string{f.proof(t, keyA, proofSpec{}, http.MethodGet, path, bound)}, errCodeInvalidDPoPProof},
		{"another URL", "GET", bound, []string{f.proof(t, keyA, proofSpec{}, http.MethodGet, PathUserinfo, bound)}, errCodeInvalidDPoPProof},
		{"no ath", "GET", bound, []string{f.proof(t, keyA, proofSpec{noATH: true}, http.MethodGet, path, bound)}, errCodeInvalidDPoPProof},
		{"no nonce", "GET", bound, []string{f.proof(t, keyA, proofSpec{noNonce: true}, http.MethodGet, path, bound)}, errCodeUseDPoPNonce},
		{"unbound token", "GET", unbound, []string{f.proof(t, keyA, proofSpec{}, http.MethodGet, path, unbound)}, "invalid_token"},
		{"not a token", "GET", "garbage", []string{f.proof(t, keyA, proofSpec{}, http.MethodGet, path, "garbage")}, "invalid_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, checklistIssuer+path, nil)
			for _, p := range tc.proofs {
				r.Header.Add(headerDPoP, p)
			}
			jkt, err := f.p.CheckResourceProof(r, tc.token)
			if tc.code == "" {
				if err != nil || jkt != keyA.jkt(t) {
					t.Fatalf("CheckResourceProof = %q, %v; want %q", jkt, err, keyA.jkt(t))
				}
				return
			}
			var pe *DPoPProofError
			if !errors.As(err, &pe) || pe.Code != tc.code || jkt != "" {
				t.Fatalf("CheckResourceProof = %q, %v; want DPoPProofError %s", jkt, err, tc.code)
			}
			if !f.p.dpopNonces.valid(pe.Nonce, f.clock.Now()) {
				t.Errorf("Nonce %q is not a current nonce", pe.Nonce)
			}
		})
	}
}
