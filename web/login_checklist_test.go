package web

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/password"
)

// TestChecklistWeb lists the checklist items that the browser pages' own
// tests already prove, so `go test -run Checklist` shows them. Each entry
// runs the named test; it fails when that behaviour breaks.
func TestChecklistWeb(t *testing.T) {
	for _, tc := range []struct {
		id string
		fn func(*testing.T)
	}{
		{"A19/303-after-credential-post-password-not-in-url", TestLoginSuccess},
		{"S1/cookie-attributes-host-prefix-httponly-lax", TestLoginSuccess},
		{"S3/attacker-chosen-or-malformed-cookie-is-anonymous", TestCurrentSession},
		{"S4/session-id-renewed-at-sign-in", TestLoginRotatesSession},
		{"S5/idle-and-absolute-timeout-from-server-timestamps", TestCurrentSession},
		{"S7/login-csrf-token-and-fetch-metadata", TestLoginCSRF},
		{"S7/consent-csrf-token-and-fetch-metadata", TestConsentCSRF},
		{"S8/frame-ancestors-none-and-x-frame-options", TestSecurityHeaders},
		{"S9/csp-nonce-and-security-headers", TestSecurityHeaders},
		{"S11/unknown-wrong-disabled-look-alike", TestLoginFailuresLookAlike},
		{"S12/argon2id-outdated-hash-upgraded", TestLoginWithArgon2id},
		{"S14/return-to-ignored", TestLoginIgnoresReturnTo},
		{"A20/consent-denied", TestConsentRefused},
		{"B2/login-body-64KiB-password-1024B", TestLoginInputLimits},
		{"B4/invalid-utf8-username", TestLoginInputLimits},
	} {
		t.Run(tc.id, tc.fn)
	}
}

// TestChecklistS11Timing is checklist S11 with the real argon2id hasher:
// an unknown user and a wrong password give the same status and page, and
// response times of the same order of magnitude (a dummy hash is verified
// for unknown users). Only a coarse ratio of medians measured in this one
// run is compared, never an absolute time.
func TestChecklistS11Timing(t *testing.T) {
	hasher := password.NewHasher(password.DefaultParams, 2)
	e := newEnv(t, false, func(c *Config) {
		c.Hasher = hasher
		// Throttling is S10's business; here every attempt is checked.
		lots := storage.ThrottlePolicy{Window: time.Minute, Free: 1000, Delay: time.Second, MaxDelay: time.Second}
		c.Throttle = ThrottleConfig{Address: lots, AccountAddress: lots, Account: lots}
	})
	hash, err := hasher.Hash(alicePassword)
	e.must(err)
	e.addUser("u-carol", "carol", hash, false)
	c := e.browser()
	id, token := e.loginForm(c)

	const runs = 9
	var known, unknown []time.Duration
	var knownPage, unknownPage page
	attempt := func(username string) (page, time.Duration) {
		start := time.Now()
		p := e.post(c, "/login", url.Values{"id": {id}, "csrf_token": {token}, "username": {username}, "password": {"wrong password"}})
		return p, time.Since(start)
	}
	for range runs { // interleaved, so drift affects both alike
		p, d := attempt("carol")
		known, knownPage = append(known, d), p
		p, d = attempt("nobod")
		unknown, unknownPage = append(unknown, d), p
	}
	t.Run("S11/same-status-and-page", func(t *testing.T) {
		if knownPage.status != http.StatusUnauthorized || unknownPage.status != knownPage.status ||
			normalise(knownPage, "carol") != normalise(unknownPage, "nobod") {
			t.Fatalf("wrong password: %d, unknown user: %d, or the pages differ", knownPage.status, unknownPage.status)
		}
		if len(knownPage.header.Values("Set-Cookie")) != len(unknownPage.header.Values("Set-Cookie")) {
			t.Fatal("Set-Cookie differs between unknown user and wrong password")
		}
	})
	t.Run("S11/same-order-of-magnitude-of-time", func(t *testing.T) {
		mk, mu := median(known), median(unknown)
		if ratio := float64(mu) / float64(mk); ratio < 0.1 || ratio > 10 {
			t.Fatalf("median unknown user %v vs wrong password %v (ratio %.2f): timing tells them apart", mu, mk, ratio)
		}
	})
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
