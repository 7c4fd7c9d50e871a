package op

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzAuthorizeRequest feeds arbitrary query strings and form bodies
// through the authorization request parser (checklist B13). Properties:
// no panic; an accepted request holds only well-formed values (state valid
// UTF-8 within 2048 bytes and never repeated, an S256 challenge of 43
// base64url characters, granted scopes the client may have, individually
// requested claims within them, a valid prompt); every error description stays within RFC 6749 §4.1.2.1's
// charset (checklist B10). Seeds: testdata/fuzz/FuzzAuthorizeRequest.
func FuzzAuthorizeRequest(f *testing.F) {
	f.Add(authzParams().Encode(), false)
	f.Add(authzParams().Encode(), true)
	f.Add(authzParams("claims", `{"id_token":{"email":null,"acr":{"essential":true,"values":["urn:monban:acr:mfa"]}},"userinfo":{"phone_number":null}}`).Encode(), false)
	f.Fuzz(func(t *testing.T, raw string, post bool) {
		var r *http.Request
		if post {
			r = formRequest("/authorize", raw)
		} else {
			r = httptest.NewRequest(http.MethodGet, "/authorize", nil)
			r.URL.RawQuery = raw
		}
		v, err := readAuthorizeParams(httptest.NewRecorder(), r)
		if err != nil {
			return
		}
		a, oerr := parseAuthParams(v, checklistWeb1)
		if oerr != nil {
			if !errorDescriptionChars.MatchString(oerr.Description) {
				t.Fatalf("error_description %q outside RFC 6749's charset", oerr.Description)
			}
			if a.stateOK && (len(v["state"]) > 1 || !utf8.ValidString(a.state) || len(a.state) > maxParamLength) {
				t.Fatalf("an invalid or repeated state %q would be echoed", a.state)
			}
			return
		}
		switch {
		case len(v["state"]) > 1 || !utf8.ValidString(a.state) || len(a.state) > maxParamLength:
			t.Fatalf("accepted state %q", a.state)
		case a.challenge != "" && (a.method != "S256" || !s256Challenge.MatchString(a.challenge)):
			t.Fatalf("accepted challenge %q method %q", a.challenge, a.method)
		case a.challenge == "" && a.method != "":
			t.Fatalf("accepted a method without a challenge")
		case v.Get("response_type") != "code":
			t.Fatalf("accepted response_type %q", v.Get("response_type"))
		case v.Get("request") != "" || v.Get("request_uri") != "":
			t.Fatal("accepted a request object or request_uri")
		}
		for _, s := range a.scopes {
			if !slices.Contains(checklistWeb1.Scopes, s) {
				t.Fatalf("granted scope %q the client may not have", s)
			}
		}
		for _, n := range append(slices.Clone(a.claims.IDToken), a.claims.UserInfo...) {
			if !slices.Contains(checklistWeb1.Scopes, scopeOfClaim(n)) {
				t.Fatalf("released claim %q outside the client's scopes", n)
			}
		}
		if slices.Contains(a.prompt, "none") && len(a.prompt) > 1 {
			t.Fatalf("accepted prompt %v", a.prompt)
		}
	})
}

// FuzzVerifyJWT feeds arbitrary strings to the JWT verifier behind
// id_token_hint and bearer access tokens (checklist B9, B13). Properties:
// no panic, and nothing is accepted unless its payload is exactly that of
// a token the provider signed (the seed). Seeds:
// testdata/fuzz/FuzzVerifyJWT (the checklist's malformed-JWT vectors).
func FuzzVerifyJWT(f *testing.F) {
	fx := newJWTFixture(f)
	valid := fx.idToken(f)
	genuine, err := fx.p.keys.Verify(valid, typIDToken)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(strings.Replace(valid, ".", "..", 1))
	f.Fuzz(func(t *testing.T, token string) {
		payload, err := fx.p.keys.Verify(token, typIDToken)
		if err == nil && !bytes.Equal(payload, genuine) {
			t.Fatalf("accepted a token the provider did not sign: %q", token)
		}
		if h, err := fx.p.parseIDTokenHint(token); err == nil && (h.Subject != "alice" || !bytes.Equal(payload, genuine)) {
			t.Fatalf("parseIDTokenHint accepted %q as %+v", token, h)
		}
		if _, err := fx.p.keys.Verify(token, typAccessToken); err == nil {
			t.Fatalf("an ID token passed as an access token: %q", token)
		}
	})
}
