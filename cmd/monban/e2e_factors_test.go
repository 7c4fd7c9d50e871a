package main

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/acr"
)

// totpCode computes the current code of secret at the server's clock, as
// an authenticator app would.
func totpCode(t *testing.T, p *testProvider, secret string) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, p.Clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

var (
	totpSecretRE = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	codesRE      = regexp.MustCompile(`<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>`)
)

// enrolTOTP enrols a TOTP factor for the browser's signed-in person at
// /account/security and returns the secret and the recovery codes.
func enrolTOTP(t *testing.T, p *testProvider, br *browser) (string, []string) {
	t.Helper()
	page, body := br.visit(p.URL + "/account/security")
	if page.StatusCode != http.StatusOK || !strings.Contains(body, `action="/account/security/totp"`) {
		t.Fatalf("security page: %d\n%s", page.StatusCode, body)
	}
	page, body = br.submit(page, body, nil)
	m := totpSecretRE.FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, "<svg") {
		t.Fatalf("no QR code and secret on the enrolment page:\n%s", body)
	}
	secret := m[1]
	page, body = br.submit(page, body, map[string]string{"code": "000000"})
	if page.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong first code: %d, want 422", page.StatusCode)
	}
	page, body = br.submit(page, body, map[string]string{"code": totpCode(t, p, secret)})
	var codes []string
	for _, c := range codesRE.FindAllStringSubmatch(body, -1) {
		codes = append(codes, c[1])
	}
	if page.StatusCode != http.StatusOK || len(codes) != 10 || !strings.Contains(body, `id="totp-status"`) {
		t.Fatalf("after confirming: %d, %d codes\n%s", page.StatusCode, len(codes), body)
	}
	p.Clock.Advance(30 * time.Second) // the confirming code's step is used
	return secret, codes
}

// passwordThenFactor starts an authorization, signs in with alice's
// password and returns the second-factor page.
func passwordThenFactor(t *testing.T, fx *ssoFixture, br *browser, r *rp, opts ...oauth2.AuthCodeOption) (*flow, *http.Response, string) {
	t.Helper()
	f := r.start(opts...)
	page, body := br.visit(f.URL)
	page, body = br.submit(page, body, map[string]string{"username": "alice", "password": alicePassword})
	if page.StatusCode != http.StatusOK || page.Request.URL.Path != "/login/factor" || strings.Contains(body, `name="password"`) {
		t.Fatalf("want the second-factor page, got %d at %s", page.StatusCode, page.Request.URL)
	}
	return f, page, body
}

// TestTOTPSignIn is issue 17's TOTP "must show": enrolment with a secret
// the test computes codes from; step-up of a password-only session asks
// only the code and keeps auth_time; password → TOTP → code with the MFA
// acr; a reused code is refused; a recovery code works once; the factor
// step cannot be skipped through the callback.
func TestTOTPSignIn(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newSSOFixture(t, store)
		p := fx.p
		br := newBrowser(t, p.URL)
		first := fx.signIn(t, br, fx.a)
		if first.claims["acr"] != acr.Password || !slices.Equal(amrOf(first), []string{"pwd"}) {
			t.Fatalf("password sign-in: acr %v amr %v", first.claims["acr"], first.claims["amr"])
		}
		secret, codes := enrolTOTP(t, p, br)

		// Step-up: the MFA acr from a password-only session asks the code only.
		f := fx.b.start(oauth2.SetAuthURLParam("acr_values", acr.MFA))
		page, body := br.visit(f.URL)
		if page.Request.URL.Path != "/login/factor" || strings.Contains(body, `name="password"`) {
			t.Fatalf("step-up showed %s, want only the second factor", page.Request.URL)
		}
		resp, _ := br.submit(page, body, map[string]string{"code": totpCode(t, p, secret)})
		q := fx.b.callbackParams(resp, f, p.URL)
		up, err := fx.b.exchange(q.Get("code"), f)
		if err != nil {
			t.Fatalf("exchange after step-up: %v", err)
		}
		if up.claims["acr"] != acr.MFA || !slices.Contains(amrOf(up), "otp") || !slices.Contains(amrOf(up), "mfa") {
			t.Fatalf("after step-up: acr %v amr %v", up.claims["acr"], up.claims["amr"])
		}
		if up.claims["auth_time"] != first.claims["auth_time"] || up.claims["sid"] != first.claims["sid"] {
			t.Fatalf("step-up changed auth_time %v→%v or sid", first.claims["auth_time"], up.claims["auth_time"])
		}

		// A new browser: password, then TOTP; the code just used is refused.
		p.Clock.Advance(30 * time.Second)
		br2 := newBrowser(t, p.URL)
		f, page, body = passwordThenFactor(t, fx, br2, fx.a)
		used := totpCode(t, p, secret)
		page, body = br2.submit(page, body, map[string]string{"code": used})
		q = fx.a.callbackParams(page, f, p.URL)
		tok, err := fx.a.exchange(q.Get("code"), f)
		if err != nil || tok.claims["acr"] != acr.MFA {
			t.Fatalf("password and TOTP: %v, acr %v", err, tok.claims["acr"])
		}
		br3 := newBrowser(t, p.URL)
		f, page, body = passwordThenFactor(t, fx, br3, fx.a)
		page, body = br3.submit(page, body, map[string]string{"code": used})
		if page.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `role="alert"`) {
			t.Fatalf("a reused code: %d, want 401 with the error", page.StatusCode)
		}
		// Skipping the step: the callback with the request's id gives no code.
		id := page.Request.URL.Query().Get("id")
		if id == "" {
			_, vals := parseForm(t, body)
			id = vals.Get("id")
		}
		skip, _ := br3.visit(p.URL + "/authorize/callback?id=" + id)
		if loc := skip.Header.Get("Location"); strings.Contains(loc, "code=") || skip.StatusCode == http.StatusFound {
			t.Fatalf("the callback answered %d %q before the second factor", skip.StatusCode, loc)
		}
		// A recovery code works once.
		page, body = br3.submit(page, body, map[string]string{"code": strings.ToUpper(codes[3])})
		q = fx.a.callbackParams(page, f, p.URL)
		if tok, err = fx.a.exchange(q.Get("code"), f); err != nil || tok.claims["acr"] != acr.MFA {
			t.Fatalf("recovery code: %v", err)
		}
		br4 := newBrowser(t, p.URL)
		_, page, body = passwordThenFactor(t, fx, br4, fx.a)
		if page, _ = br4.submit(page, body, map[string]string{"code": codes[3]}); page.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a used recovery code: %d, want 401", page.StatusCode)
		}
	})
}

// TestClientRequiresMFA: a client registered with require_mfa cannot be
// reached with a password alone: prompt=none answers
// interaction_required, and a person without a factor enrols during the
// sign-in before the code is issued.
func TestClientRequiresMFA(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newSSOFixture(t, store)
		p := fx.p
		const redirect = "https://strict.example/cb"
		sec := p.addClient(t, storage.Client{ID: "strict", Name: "Strict", RedirectURIs: []string{redirect}, RequireMFA: true})
		strict := newRP(t, p.URL, "strict", sec, redirect)
		br := newBrowser(t, p.URL)
		fx.signIn(t, br, fx.a) // a password-only session

		f := strict.start(oauth2.SetAuthURLParam("prompt", "none"))
		resp, _ := br.visit(f.URL)
		if q := strict.callbackParams(resp, f, p.URL); q.Get("error") != "interaction_required" || q.Get("code") != "" {
			t.Fatalf("prompt=none to a client requiring MFA: %v", q)
		}

		// Interactive: the missing factor, enrolled on the spot.
		f = strict.start()
		page, body := br.visit(f.URL)
		m := totpSecretRE.FindStringSubmatch(body)
		if page.Request.URL.Path != "/login/factor" || m == nil {
			t.Fatalf("want the enrolment on the factor page, got %s", page.Request.URL)
		}
		resp, _ = br.submit(page, body, map[string]string{"code": totpCode(t, p, m[1])})
		q := strict.callbackParams(resp, f, p.URL)
		tok, err := strict.exchange(q.Get("code"), f)
		if err != nil || tok.claims["acr"] != acr.MFA {
			t.Fatalf("after enrolment: %v, acr %v", err, tok.claims["acr"])
		}

		// A fresh browser with the password alone does not get a code.
		br2 := newBrowser(t, p.URL)
		f = strict.start()
		page, body = br2.visit(f.URL)
		page, _ = br2.submit(page, body, map[string]string{"username": "alice", "password": alicePassword})
		if page.Request.URL.Path != "/login/factor" || page.StatusCode != http.StatusOK {
			t.Fatalf("password alone reached %d %s", page.StatusCode, page.Request.URL)
		}
	})
}

// amrOf returns the ID token's amr claim.
func amrOf(tok *tokens) []string {
	var out []string
	list, _ := tok.claims["amr"].([]any)
	for _, v := range list {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}
