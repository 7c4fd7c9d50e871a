package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/admin"
)

// giveBobFactors gives bob a confirmed TOTP factor, two recovery codes
// and a synced passkey, so the user page's factors section has rows.
func giveBobFactors(e *env) {
	ctx := context.Background()
	now := e.clock.Now().UTC()
	e.must(e.store.PutTOTP(ctx, &storage.TOTP{UserID: "u-bob", Secret: []byte("sealed"), CreatedAt: now}))
	e.must(e.store.UseTOTPStep(ctx, "u-bob", 1, now))
	e.must(e.store.ReplaceRecoveryCodes(ctx, "u-bob", []string{storage.HashToken("a"), storage.HashToken("b")}, now))
	e.must(e.store.AddWebAuthnCredential(ctx, &storage.WebAuthnCredential{ID: []byte("cred-bob"), UserID: "u-bob",
		PublicKey: []byte("key"), BackupEligible: true, AAGUID: make([]byte, 16), Name: "Phone", CreatedAt: now}))
}

// TestUserFactorsSection: the user page lists the person's factors, and
// an administrator's own page offers no reset.
func TestUserFactorsSection(t *testing.T) {
	e := newEnv(t)
	c := e.browser("u-admin")
	p := e.do(c, "GET", "/admin/users/u-bob", nil)
	for _, want := range []string{"Second factors", "confirmed", "Recovery codes left", "Phone", "never", "/admin/users/u-bob/reset-factors"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("user page lacks %q", want)
		}
	}
	own := e.do(c, "GET", "/admin/users/u-admin", nil)
	if !strings.Contains(own.body, "No passkeys.") || strings.Contains(own.body, "reset-factors") {
		t.Error("the own page offers a factor reset or does not list the (absent) passkeys")
	}
}

// TestResetFactors: the reset asks first, needs a fresh sign-in, removes
// every factor in the transaction of its factor.reset audit entry, and
// ends the person's sessions; an administrator's own account is refused.
func TestResetFactors(t *testing.T) {
	tests := []struct {
		name       string
		target     string
		stale      bool
		wantStatus int
		reset      bool
	}{
		{"fresh sign-in resets", "u-bob", false, http.StatusSeeOther, true},
		{"stale sign-in asks to sign in again", "u-bob", true, http.StatusForbidden, false},
		{"own account refused", "u-admin", false, http.StatusBadRequest, false},
		{"unknown user", "nope", false, http.StatusNotFound, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			c := e.browser("u-admin")
			confirm := e.do(c, "GET", "/admin/users/"+tc.target+"/reset-factors", nil)
			if tc.target == "u-bob" && (confirm.status != http.StatusOK || !strings.Contains(confirm.body, "Reset the second factors of bob?")) {
				t.Fatalf("confirmation page: %d", confirm.status)
			}
			if tc.target == "u-admin" && confirm.status != http.StatusBadRequest {
				t.Errorf("own account's confirmation page: %d, want 400", confirm.status)
			}
			form := url.Values{"csrf_token": {e.csrf(c)}}
			if tc.stale {
				e.clock.Advance(admin.DefaultFreshAuth + time.Minute)
			}
			p := e.do(c, "POST", "/admin/users/"+tc.target+"/reset-factors", form)
			if p.status != tc.wantStatus {
				t.Fatalf("POST: %d, want %d\n%s", p.status, tc.wantStatus, p.body)
			}
			_, totpErr := e.store.GetTOTP(ctx, "u-bob")
			codes, err := e.store.CountRecoveryCodes(ctx, "u-bob")
			e.must(err)
			creds, err := e.store.ListWebAuthnCredentials(ctx, "u-bob")
			e.must(err)
			sessions, err := e.store.ListUserSessions(ctx, "u-bob")
			e.must(err)
			entries, err := e.store.ListAudit(ctx, storage.AuditFilter{Actions: []string{storage.ActionFactorReset}}, 0, 10)
			e.must(err)
			gone := totpErr != nil && codes == 0 && len(creds) == 0
			if gone != tc.reset || (len(sessions) == 0) != tc.reset || (len(entries) == 1) != tc.reset {
				t.Fatalf("factors removed %v, sessions left %d, audit entries %d; want reset %v", gone, len(sessions), len(entries), tc.reset)
			}
			if tc.reset {
				a := entries[0]
				if a.ActorID != "u-admin" || a.Target != "user:u-bob" || !strings.Contains(a.Before, `"Phone"`) || strings.Contains(a.Before, "sealed") {
					t.Errorf("audit entry %+v", a)
				}
				if p.loc != "/admin/users/u-bob?saved=1" {
					t.Errorf("redirect to %q", p.loc)
				}
				if page := e.do(c, "GET", "/admin/users/u-bob", nil); strings.Contains(page.body, "reset-factors") {
					t.Error("the reset is still offered with nothing to reset")
				}
			}
		})
	}
}
