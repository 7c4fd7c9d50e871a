package op

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// captureBrowser is a stubBrowser that remembers the request IDs it was
// asked to sign in.
type captureBrowser struct {
	stubBrowser
	ids *[]string
}

func (b captureBrowser) SignInURL(id string) string {
	*b.ids = append(*b.ids, id)
	return "/login"
}

// PKCE pair of RFC 7636 Appendix B.
const (
	testVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	testChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

// spaAuthorize is an authorization request of the fixture's public client
// "spa" with state S, plus extra.
func spaAuthorize(extra url.Values) *http.Request {
	v := url.Values{"client_id": {"spa"}, "redirect_uri": {"https://spa.test/cb"}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"S"}, "code_challenge": {testChallenge}, "code_challenge_method": {"S256"}}
	for k, vals := range extra {
		v[k] = vals
	}
	return httptest.NewRequest(http.MethodGet, checklistIssuer+"/authorize?"+v.Encode(), nil)
}

// TestAuthorizeDPoPJKT: /authorize keeps a well-formed dpop_jkt with the
// request (RFC 9449 §10) and answers a malformed or repeated one with
// invalid_request at the redirect URI, with the state (RFC 6749
// §4.1.2.1); with DPoP off the parameter is ignored.
func TestAuthorizeDPoPJKT(t *testing.T) {
	jkt := newDPoPKey(t).jkt(t)
	for _, tc := range []struct {
		name    string
		dpopOff bool
		values  []string // dpop_jkt values sent
		want    string   // the stored DPoPJKT, or "error" for invalid_request
	}{
		{"absent", false, nil, ""},
		{"a thumbprint", false, []string{jkt}, jkt},
		{"empty", false, []string{""}, ""},
		{"too short", false, []string{jkt[:42]}, "error"},
		{"too long", false, []string{jkt + "A"}, "error"},
		{"padded", false, []string{jkt[:42] + "="}, "error"},
		{"standard base64 alphabet", false, []string{strings.Repeat("+", 43)}, "error"},
		{"not canonical (trailing bits set)", false, []string{jkt[:42] + "_"}, "error"},
		{"hex SHA-256", false, []string{strings.Repeat("ab", 32)}, "error"},
		{"repeated", false, []string{jkt, jkt}, "error"},
		{"DPoP off: a thumbprint is ignored", true, []string{jkt}, ""},
		{"DPoP off: a malformed one is ignored", true, []string{"nope"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newDPoPFixture(t)
			f.p.cfg.DPoP = !tc.dpopOff
			var ids []string
			f.p.browser = captureBrowser{ids: &ids}
			extra := url.Values{}
			if tc.values != nil {
				extra[paramDPoPJKT] = tc.values
			}
			w := f.do(spaAuthorize(extra))
			loc, _ := url.Parse(w.Header().Get("Location"))
			if tc.want == "error" {
				q := loc.Query()
				if w.Code != http.StatusFound || !strings.HasPrefix(loc.String(), "https://spa.test/cb?") ||
					q.Get("error") != "invalid_request" || q.Get("state") != "S" || len(ids) != 0 {
					t.Fatalf("%d %s, want a redirect with error=invalid_request and the state", w.Code, loc)
				}
				return
			}
			if w.Code != http.StatusFound || loc.Path != "/login" || len(ids) != 1 {
				t.Fatalf("%d %s, want the sign-in page", w.Code, loc)
			}
			req, err := f.store.GetAuthRequest(t.Context(), ids[0])
			must(t, err)
			if req.DPoPJKT != tc.want {
				t.Errorf("stored dpop_jkt %q, want %q", req.DPoPJKT, tc.want)
			}
		})
	}
}

// TestCodeExchangeDPoPJKT: a code whose request named a key (dpop_jkt) is
// exchanged only with a DPoP proof by that key (RFC 9449 §10): no proof or
// another key's is invalid_grant; with the key the tokens are bound to it.
// A code without dpop_jkt takes any proof, or none.
func TestCodeExchangeDPoPJKT(t *testing.T) {
	keyA, keyB := newDPoPKey(t), newDPoPKey(t)
	for _, tc := range []struct {
		name    string
		named   *dpopKey // the request's dpop_jkt
		prover  *dpopKey // the token request's proof
		wantErr string
	}{
		{"named key, no proof", &keyA, nil, "invalid_grant"},
		{"named key, another key's proof", &keyA, &keyB, "invalid_grant"},
		{"named key, its proof", &keyA, &keyA, ""},
		{"no named key, a proof", nil, &keyB, ""},
		{"no named key, no proof", nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newDPoPFixture(t)
			ctx, now := t.Context(), f.clock.Now()
			req := &storage.AuthRequest{ID: storage.NewID(), ClientID: "spa", RedirectURI: "https://spa.test/cb",
				Scopes: []string{"openid"}, CodeChallenge: testChallenge, CodeChallengeMethod: "S256",
				CreatedAt: now, ExpiresAt: now.Add(DefaultAuthRequestTTL)}
			if tc.named != nil {
				req.DPoPJKT = tc.named.jkt(t)
			}
			must(t, f.store.CreateAuthRequest(ctx, req))
			must(t, f.store.AuthenticateAuthRequest(ctx, req.ID, storage.AuthResult{UserID: "u-alice", AuthTime: now, AMR: []string{"pwd"}}))
			must(t, f.store.IssueAuthCode(ctx, req.ID, storage.HashToken("the-code"), now.Add(time.Minute)))
			form := url.Values{"grant_type": {"authorization_code"}, "code": {"the-code"}, "redirect_uri": {"https://spa.test/cb"},
				"client_id": {"spa"}, "code_verifier": {testVerifier}}
			var proofs []string
			if tc.prover != nil {
				proofs = append(proofs, f.proof(t, *tc.prover, proofSpec{}, http.MethodPost, PathToken, ""))
			}
			w := f.do(tokenRequest(form, "", proofs...))
			if tc.wantErr != "" {
				if w.Code != http.StatusBadRequest || oauthError(t, w) != tc.wantErr {
					t.Fatalf("%d %s, want 400 %s", w.Code, w.Body, tc.wantErr)
				}
				return
			}
			body, claims := tokenResponse(t, w)
			want := ""
			if tc.prover != nil {
				want = tc.prover.jkt(t)
			}
			if cnfJKT(claims) != want || (want != "") != (body["token_type"] == tokenTypeDPoP) {
				t.Errorf("token_type %v, cnf.jkt %q; want bound to %q", body["token_type"], cnfJKT(claims), want)
			}
		})
	}
}

// TestPARDPoPJKT: at /par a malformed dpop_jkt is invalid_request; a
// DPoP proof stands for dpop_jkt (RFC 9449 §10.1) and is stored as it,
// and a dpop_jkt beside a proof by another key is invalid_request.
func TestPARDPoPJKT(t *testing.T) {
	keyA, keyB := newDPoPKey(t), newDPoPKey(t)
	for _, tc := range []struct {
		name    string
		jkt     string
		prover  *dpopKey
		status  int
		wantErr string
		want    string // the stored dpop_jkt
	}{
		{"dpop_jkt", keyA.jkt(t), nil, http.StatusCreated, "", keyA.jkt(t)},
		{"malformed dpop_jkt", "nope", nil, http.StatusBadRequest, "invalid_request", ""},
		{"a proof", "", &keyA, http.StatusCreated, "", keyA.jkt(t)},
		{"a proof and its dpop_jkt", keyA.jkt(t), &keyA, http.StatusCreated, "", keyA.jkt(t)},
		{"a proof and another dpop_jkt", keyB.jkt(t), &keyA, http.StatusBadRequest, "invalid_request", ""},
		{"neither", "", nil, http.StatusCreated, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newDPoPFixture(t)
			f.p.cfg.PAR = true
			f.mux = http.NewServeMux()
			f.p.Routes(f.mux)
			form := url.Values{"client_id": {"spa"}, "redirect_uri": {"https://spa.test/cb"}, "response_type": {"code"},
				"scope": {"openid"}, "code_challenge": {testChallenge}, "code_challenge_method": {"S256"}}
			if tc.jkt != "" {
				form.Set(paramDPoPJKT, tc.jkt)
			}
			r := httptest.NewRequest(http.MethodPost, checklistIssuer+PathPAR, strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.prover != nil {
				r.Header.Set(headerDPoP, f.proof(t, *tc.prover, proofSpec{}, http.MethodPost, PathPAR, ""))
			}
			w := f.do(r)
			if w.Code != tc.status || (tc.wantErr != "" && oauthError(t, w) != tc.wantErr) {
				t.Fatalf("%d %s, want %d %s", w.Code, w.Body, tc.status, tc.wantErr)
			}
			if tc.status != http.StatusCreated {
				return
			}
			var out struct {
				RequestURI string `json:"request_uri"`
			}
			must(t, json.Unmarshal(w.Body.Bytes(), &out))
			pushed, err := f.store.ConsumePushedRequest(t.Context(), storage.HashToken(strings.TrimPrefix(out.RequestURI, requestURIPrefix)),
				"spa", f.clock.Now())
			must(t, err)
			if got := pushed.Params.Get(paramDPoPJKT); got != tc.want {
				t.Errorf("stored dpop_jkt %q, want %q", got, tc.want)
			}
		})
	}
}
