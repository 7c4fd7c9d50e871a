package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// proxyAt trusts the test server's loopback peer as a reverse proxy, so
// tests can speak from any address through X-Forwarded-For.
func proxyAt(c *Config) {
	c.Throttle.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
}

// attemptFrom posts a sign-in for the request id from the given address
// (via a trusted proxy) or, with from == "", from the connection's own.
func (e *testEnv) attemptFrom(c *http.Client, id, token, from, username, pw string) page {
	e.t.Helper()
	var hdr []string
	if from != "" {
		hdr = []string{"X-Forwarded-For", from}
	}
	return e.post(c, "/login", url.Values{"id": {id}, "csrf_token": {token}, "username": {username}, "password": {pw}}, hdr...)
}

// loginForm opens the sign-in page for a new request and returns its id
// and CSRF token.
func (e *testEnv) loginForm(c *http.Client) (string, string) {
	e.t.Helper()
	id := e.newRequest()
	return id, csrf(e.t, e.get(c, e.h.SignInURL(id)))
}

// normalise removes the echoed username, which is the only part of a
// failed sign-in page that may differ between attempts.
func normalise(p page, username string) string {
	return strings.ReplaceAll(p.body, `value="`+username+`"`, `value="USER"`)
}

// TestChecklistS10Throttle covers checklist S10 (NIST SP 800-63B-4 §3.2.2;
// OWASP "Account Lockout"; CVE-2023-47111, CVE-2024-47070) and issue #5's
// "must show" 2 with an injected clock.
func TestChecklistS10Throttle(t *testing.T) {
	t.Run("S10/sixth-attempt-refused-without-password-check", func(t *testing.T) {
		e := newEnv(t, false)
		c := e.browser()
		id, token := e.loginForm(c)
		var first string
		for i := 1; i <= 6; i++ {
			before := e.fake.calls()
			got := e.attemptFrom(c, id, token, "", "alice", "wrong password")
			checked := e.fake.calls() - before
			if got.status != http.StatusUnauthorized || !strings.Contains(got.body, en(badCredentials)) {
				t.Fatalf("attempt %d: status %d, want the generic 401", i, got.status)
			}
			if i == 1 {
				first = normalise(got, "alice")
			} else if normalise(got, "alice") != first {
				t.Fatalf("attempt %d: page differs from the first failure", i)
			}
			if want := int32(1); i == 6 {
				if checked != 0 {
					t.Fatalf("attempt 6: %d password checks while locked, want 0", checked)
				}
			} else if checked != want {
				t.Fatalf("attempt %d: %d password checks, want 1", i, checked)
			}
		}
	})

	t.Run("S10/twenty-wrong-then-right-password-after-lock", func(t *testing.T) {
		e := newEnv(t, false)
		c := e.browser()
		id, token := e.loginForm(c)
		for i := 1; i <= 20; i++ {
			if got := e.attemptFrom(c, id, token, "", "alice", "wrong password"); got.status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: status %d, want 401", i, got.status)
			}
		}
		if n := e.fake.calls(); n != 5 {
			t.Fatalf("20 wrong passwords ran %d password checks, want 5 (the rest were refused)", n)
		}
		// Locked: the right password gets the generic failure, unchecked.
		got := e.attemptFrom(c, id, token, "", "alice", alicePassword)
		if got.status != http.StatusUnauthorized || e.fake.calls() != 5 || e.sessionCookie(c) != "" {
			t.Fatalf("right password while locked: status %d, %d checks; want the generic 401 and no check", got.status, e.fake.calls())
		}
		// The lock ends on its own: at most 15 minutes after the last
		// admitted attempt (checklist S10 cap).
		e.clock.Advance(DefaultThrottle.AccountAddress.MaxDelay)
		id, token = e.loginForm(c) // the authorization request itself expired meanwhile
		if got := e.attemptFrom(c, id, token, "", "alice", alicePassword); got.status != http.StatusSeeOther {
			t.Fatalf("right password after the lock: status %d, want 303\n%s", got.status, got.body)
		}
		// Success clears the username's counters.
		for _, key := range []string{"user:alice", "user-ip:127.0.0.1 alice"} {
			if _, err := e.store.GetLoginThrottle(context.Background(), key); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("counter %s not cleared after sign-in: %v", key, err)
			}
		}
	})

	t.Run("S10/unknown-user-throttled-alike", func(t *testing.T) {
		// The same sequence for an existing and an unknown username yields
		// the same statuses and pages (checklist S11): counters are keyed by
		// the username as typed.
		e := newEnv(t, false)
		e.addUser("u-bobby", "bobby", "plain:"+alicePassword, false)
		c := e.browser()
		id, token := e.loginForm(c)
		for i := 1; i <= 8; i++ {
			known := e.attemptFrom(c, id, token, "", "bobby", "wrong password")
			unknown := e.attemptFrom(c, id, token, "", "nobod", "wrong password")
			if known.status != unknown.status || normalise(known, "bobby") != normalise(unknown, "nobod") {
				t.Fatalf("attempt %d: known user %d, unknown user %d, or pages differ", i, known.status, unknown.status)
			}
		}
	})

	t.Run("S10/address-limit-429-with-retry-after", func(t *testing.T) {
		e := newEnv(t, false)
		c := e.browser()
		id, token := e.loginForm(c)
		for i := range DefaultThrottle.Address.Free {
			if got := e.attemptFrom(c, id, token, "", "user"+strconv.Itoa(i), "x"); got.status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: status %d, want 401", i+1, got.status)
			}
		}
		before := e.fake.calls()
		got := e.attemptFrom(c, id, token, "", "alice", alicePassword)
		if got.status != http.StatusTooManyRequests || got.header.Get("Retry-After") != "60" || !strings.Contains(got.body, en(tooManyAttempts)) {
			t.Fatalf("attempt 31: status %d, Retry-After %q; want 429 with Retry-After 60", got.status, got.header.Get("Retry-After"))
		}
		if e.fake.calls() != before {
			t.Fatal("password checked after the address limit")
		}
		e.clock.Advance(time.Minute)
		if got := e.attemptFrom(c, id, token, "", "alice", alicePassword); got.status != http.StatusSeeOther {
			t.Fatalf("after a minute: status %d, want 303", got.status)
		}
	})

	t.Run("S10/spoofed-x-forwarded-for-ignored", func(t *testing.T) {
		// Without trusted proxies the header is the client's word: the
		// address stays the connection's (CVE-2024-47070, CVE-2025-64101).
		e := newEnv(t, false)
		c := e.browser()
		id, token := e.loginForm(c)
		for i := range DefaultThrottle.Address.Free {
			e.attemptFrom(c, id, token, "203.0.113."+strconv.Itoa(i), "user"+strconv.Itoa(i), "x")
		}
		if got := e.attemptFrom(c, id, token, "198.51.100.1", "alice", alicePassword); got.status != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429: X-Forwarded-For from an untrusted peer was believed", got.status)
		}
	})

	t.Run("S10/one-address-cannot-lock-out-the-user", func(t *testing.T) {
		e := newEnv(t, false, proxyAt)
		attacker, user := e.browser(), e.browser()
		id, token := e.loginForm(attacker)
		for range 20 {
			e.attemptFrom(attacker, id, token, "203.0.113.9", "alice", "guess")
		}
		// Every 15 minutes the attacker gets one more guess, for a day.
		for range 4 * 24 {
			e.clock.Advance(DefaultThrottle.AccountAddress.MaxDelay)
			e.attemptFrom(attacker, id, token, "203.0.113.9", "alice", "guess")
		}
		uid, utoken := e.loginForm(user)
		if got := e.attemptFrom(user, uid, utoken, "198.51.100.20", "alice", alicePassword); got.status != http.StatusSeeOther {
			t.Fatalf("the user, from another address: status %d, want 303", got.status)
		}
	})

	t.Run("S10/account-limit-across-addresses", func(t *testing.T) {
		e := newEnv(t, false, proxyAt, func(c *Config) {
			c.Throttle.Account = storage.ThrottlePolicy{Window: time.Hour, Free: 3, Delay: 15 * time.Minute, MaxDelay: 15 * time.Minute}
		})
		c := e.browser()
		id, token := e.loginForm(c)
		for i := range 3 {
			e.attemptFrom(c, id, token, "203.0.113."+strconv.Itoa(i), "alice", "guess")
		}
		before := e.fake.calls()
		if got := e.attemptFrom(c, id, token, "198.51.100.20", "alice", alicePassword); got.status != http.StatusUnauthorized || e.fake.calls() != before {
			t.Fatalf("distributed guessing: status %d; want the generic 401 without a password check", got.status)
		}
		e.clock.Advance(15 * time.Minute)
		id, token = e.loginForm(c)
		if got := e.attemptFrom(c, id, token, "198.51.100.20", "alice", alicePassword); got.status != http.StatusSeeOther {
			t.Fatalf("after the account lock: status %d, want 303", got.status)
		}
	})

	t.Run("S10/fifty-parallel-wrong-passwords", func(t *testing.T) {
		// CVE-2023-47111: parallel attempts must not exceed the allowance.
		e := newEnv(t, false)
		form := e.browser()
		id, token := e.loginForm(form)
		cookie := e.cookie(form, e.h.csrfName)
		const n = 50
		statuses := make([]int, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				statuses[i] = e.parallelAttempt(id, token, cookie, "alice", "wrong password")
			})
		}
		close(start)
		wg.Wait()
		counts := map[int]int{}
		for _, s := range statuses {
			counts[s]++
		}
		if e.fake.calls() != 5 {
			t.Errorf("%d password checks for %d parallel attempts, want exactly 5", e.fake.calls(), n)
		}
		ip, err := e.store.GetLoginThrottle(context.Background(), "ip:127.0.0.1")
		e.must(err)
		if ip.Failures != n || counts[http.StatusUnauthorized] != DefaultThrottle.Address.Free ||
			counts[http.StatusTooManyRequests] != n-DefaultThrottle.Address.Free {
			t.Errorf("address counter %d, statuses %v; want %d, %d×401 and %d×429",
				ip.Failures, counts, n, DefaultThrottle.Address.Free, n-DefaultThrottle.Address.Free)
		}
	})

	t.Run("S10/audit-trail", func(t *testing.T) {
		var buf syncBuffer
		e := newEnv(t, false, func(c *Config) { c.Logger = slog.New(slog.NewJSONHandler(&buf, nil)) })
		c := e.browser()
		id, token := e.loginForm(c)
		const pw = "not the password, but secret"
		for range 6 {
			e.attemptFrom(c, id, token, "", "alice", pw)
		}
		var events []string
		byEvent := map[string]map[string]any{}
		for _, m := range auditLines(t, buf.String()) {
			events = append(events, m["event"].(string))
			byEvent[m["event"].(string)] = m
		}
		f, l := storage.ActionSignInFailed, storage.ActionLockout
		if want := []string{f, f, f, f, l, f}; !slices.Equal(events, want) {
			t.Errorf("events = %v, want one per attempt: %v", events, want)
		}
		locked, refused := byEvent[l], byEvent[f]
		if lock, _ := locked["account_address"].(map[string]any); locked["actor_id"] != "u-alice" ||
			locked["address"] != "127.0.0.1" || lock["locked_until"] == nil || lock["failures"] != float64(5) {
			t.Errorf("lockout event does not name the user, scope and address: %v", locked)
		}
		if refused["scope"] != "account_address" || refused["locked_until"] == nil || refused["detail"] != "throttled (account_address)" {
			t.Errorf("no throttled event for the refused attempt: %v", refused)
		}
		entries, err := e.store.ListAudit(context.Background(), storage.AuditFilter{Actor: "alice"}, 0, 100)
		e.must(err)
		if len(entries) != 6 {
			t.Errorf("%d audit entries for 6 attempts, want 6", len(entries))
		}
		if strings.Contains(buf.String(), pw) || strings.Contains(fmt.Sprint(entries), pw) {
			t.Error("the audit trail contains the password")
		}
	})

	t.Run("S10/store-failure-fails-closed", func(t *testing.T) {
		// Checklist R3: if the counter cannot be written, nobody signs in.
		e := newEnv(t, false)
		e.h.store = failingThrottle{e.store.(storage.Store)}
		c := e.browser()
		id, token := e.loginForm(c)
		got := e.attemptFrom(c, id, token, "", "alice", alicePassword)
		if got.status != http.StatusServiceUnavailable || e.sessionCookie(c) != "" || e.fake.calls() != 0 {
			t.Fatalf("status %d with a failing counter; want 503, no session and no password check", got.status)
		}
	})
}

// cookie returns the value of the named cookie in the browser's jar.
func (e *testEnv) cookie(c *http.Client, name string) string {
	u, _ := url.Parse(e.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// parallelAttempt posts one sign-in carrying the form's CSRF cookie and
// token, safe to call from many goroutines, and returns the status.
func (e *testEnv) parallelAttempt(id, token, csrfCookie, username, pw string) int {
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/login",
		strings.NewReader(url.Values{"id": {id}, "csrf_token": {token}, "username": {username}, "password": {pw}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(&http.Cookie{Name: e.h.csrfName, Value: csrfCookie})
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// failingThrottle is a store whose sign-in counters cannot be written.
type failingThrottle struct{ storage.Store }

func (failingThrottle) RecordLoginFailure(context.Context, string, time.Time, storage.ThrottlePolicy) (*storage.LoginThrottle, bool, error) {
	return nil, false, errors.New("disk full")
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}
