package web

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/acr"
	"github.com/monban-idp/monban/web/session"
)

// confirmTOTP gives userID a confirmed TOTP factor (a sealed secret, as
// enrolment stores it).
func confirmTOTP(e *testEnv, userID string) {
	ctx := context.Background()
	now := e.clock.Now().UTC()
	e.must(e.store.PutTOTP(ctx, &storage.TOTP{UserID: userID, Secret: e.h.factorKeys.Seal(totpAAD(userID), []byte("JBSWY3DPEHPK3PXP")), CreatedAt: now}))
	e.must(e.store.UseTOTPStep(ctx, userID, 1, now))
}

// TestFactorStepDoneHonoursClass: the factor step is not done while the
// methods do not reach the class the request needs; a password and a
// code do not reach the phishing-resistant class.
func TestFactorStepDoneHonoursClass(t *testing.T) {
	e := newEnv(t, false)
	confirmTOTP(e, "u-alice")
	e.addUser("u-bob", "bob", "plain:bob-password-1", false)
	tests := []struct {
		name string
		user string
		need string
		amr  []string
		want bool
	}{
		{"nobody yet", "", "", nil, false},
		{"password, no factor, nothing needed", "u-bob", "", []string{"pwd"}, true},
		{"password, no factor, mfa needed", "u-bob", acr.MFA, []string{"pwd"}, false},
		{"password, totp confirmed", "u-alice", "", []string{"pwd"}, false},
		{"password and code, mfa needed", "u-alice", acr.MFA, []string{"pwd", "otp"}, true},
		{"password and code, phr needed", "u-alice", acr.PhishingResistant, []string{"pwd", "otp"}, false},
		{"password alone, phr needed", "u-bob", acr.PhishingResistant, []string{"pwd"}, false},
		{"password and passkey, phr needed", "u-alice", acr.PhishingResistant, []string{"pwd", "hwk"}, true},
		{"passkey with verification, phr needed", "u-bob", acr.PhishingResistant, []string{"swk", "user"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := e.newRequest(func(r *storage.AuthRequest) { r.ACR = tc.need })
			got, err := factorStep{h: e.h}.Done(context.Background(), &session.Progress{RequestID: id, UserID: tc.user, AMR: tc.amr})
			if err != nil || got != tc.want {
				t.Fatalf("Done = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestPhishingResistantStepUp: a request that needs the phishing-resistant
// class, after a password, offers only the person's passkey (a code is
// refused without being checked) and completes with it; a person without
// a passkey gets a clear 403 page.
func TestPhishingResistantStepUp(t *testing.T) {
	e := newEnv(t, false, localhostIssuer)
	e.addUser("u-bob", "bob", "plain:bob-password-1", false)
	alice := registerPasskey(t, e, "alice", alicePassword)
	confirmTOTP(e, "u-alice")
	phr := func(r *storage.AuthRequest) { r.ACR = acr.PhishingResistant }

	t.Run("password then passkey", func(t *testing.T) {
		c := e.browser()
		id := e.newRequest(phr)
		lp := e.login(c, id, "alice", alicePassword)
		if lp.status != http.StatusSeeOther || !strings.HasPrefix(lp.header.Get("Location"), factorPath) {
			t.Fatalf("password: %d %s", lp.status, lp.header.Get("Location"))
		}
		fp := e.get(c, lp.header.Get("Location"))
		if fp.status != http.StatusOK || strings.Contains(fp.body, `name="code"`) || strings.Contains(fp.body, "totp-secret") ||
			!strings.Contains(fp.body, html.EscapeString(en(passkeyNeededLead))) {
			t.Fatalf("factor page: %d, offers a code or no passkey note\n%s", fp.status, fp.body)
		}
		options := optionsIn(t, getOptionsRE, fp)
		code := e.post(c, factorPath, url.Values{"id": {id}, "csrf_token": {csrf(t, fp)}, "code": {"123456"}})
		if code.status != http.StatusBadRequest || !strings.Contains(code.body, html.EscapeString(en(passkeyNeededCode))) {
			t.Fatalf("a code at the passkey-only step: %d\n%s", code.status, code.body)
		}
		options = optionsIn(t, getOptionsRE, code) // the page gave a new ceremony
		p := e.post(c, passkeyLoginPath, url.Values{"id": {id}, "csrf_token": {csrf(t, code)},
			"credential": {alice.get(options, 20, nil)}})
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), callbackPath) {
			t.Fatalf("passkey: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
		}
		req := e.authRequest(id)
		if req.UserID != "u-alice" || acr.Of(req.AMR) != acr.PhishingResistant || !slices.Contains(req.AMR, "pwd") ||
			!slices.Contains(req.AMR, "mfa") {
			t.Fatalf("authenticated as %q with amr %v", req.UserID, req.AMR)
		}
	})

	t.Run("no passkey", func(t *testing.T) {
		c := e.browser()
		id := e.newRequest(phr)
		lp := e.login(c, id, "bob", "bob-password-1")
		fp := e.get(c, lp.header.Get("Location"))
		if fp.status != http.StatusForbidden || !strings.Contains(fp.body, html.EscapeString(en(passkeyNeededTitle))) {
			t.Fatalf("factor page without a passkey: %d\n%s", fp.status, fp.body)
		}
		if _, err := e.store.GetTOTP(context.Background(), "u-bob"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("a TOTP enrolment was started: %v", err)
		}
		if req := e.authRequest(id); req.UserID != "" {
			t.Fatalf("the request was authenticated as %q", req.UserID)
		}
	})
}

// TestFactorPageWithPasskeysOnly: a person with passkeys and no TOTP
// factor, when multi-factor is needed, is offered the passkey alone: no
// TOTP enrolment, no code form, no enrolment stored.
func TestFactorPageWithPasskeysOnly(t *testing.T) {
	e := newEnv(t, false, localhostIssuer)
	registerPasskey(t, e, "alice", alicePassword)
	c := e.browser()
	id := e.newRequest(func(r *storage.AuthRequest) { r.ACR = acr.MFA })
	lp := e.login(c, id, "alice", alicePassword)
	if lp.status != http.StatusSeeOther || !strings.HasPrefix(lp.header.Get("Location"), factorPath) {
		t.Fatalf("password: %d %s", lp.status, lp.header.Get("Location"))
	}
	fp := e.get(c, lp.header.Get("Location"))
	if fp.status != http.StatusOK || strings.Contains(fp.body, "totp-secret") || strings.Contains(fp.body, `name="code"`) ||
		!strings.Contains(fp.body, html.EscapeString(en(passkeyFactorLead))) {
		t.Fatalf("factor page: %d\n%s", fp.status, fp.body)
	}
	optionsIn(t, getOptionsRE, fp)
	if _, err := e.store.GetTOTP(context.Background(), "u-alice"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a TOTP enrolment was stored: %v", err)
	}
}

// passkeyFactorPages renders, in lang, the factor pages that offer only a
// passkey (TestEveryPageInBothLanguages): after a password, with
// multi-factor needed and no TOTP factor; with the phishing-resistant
// class needed; and that page after a code was posted.
func passkeyFactorPages(t *testing.T, lang string) map[string]page {
	e := newEnv(t, false, localhostIssuer)
	registerPasskey(t, e, "alice", alicePassword)
	pages := map[string]page{}
	for name, class := range map[string]string{"factor-passkey-only": acr.MFA, "factor-passkey-needed": acr.PhishingResistant} {
		c := e.browser()
		e.switchTo(c, lang, "/logged-out")
		id := e.newRequest(func(r *storage.AuthRequest) { r.ACR = class })
		lp := e.login(c, id, "alice", alicePassword)
		pages[name] = e.get(c, lp.header.Get("Location"))
		if pages[name].status != http.StatusOK {
			t.Fatalf("%s: %d", name, pages[name].status)
		}
		if class == acr.PhishingResistant {
			pages["factor-passkey-code"] = e.post(c, factorPath, url.Values{"id": {id}, "csrf_token": {csrf(t, pages[name])}, "code": {"000000"}})
		}
	}
	return pages
}
