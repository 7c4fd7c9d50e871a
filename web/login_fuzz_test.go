package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/storagetest"
)

// fuzzLogin is a handler with one client, alice, a pending request and a
// CSRF cookie with its token, driven without a network.
type fuzzLogin struct {
	mux    *http.ServeMux
	fake   *fakeHasher
	clock  *clock
	id     string
	cookie *http.Cookie
	token  string
}

func newFuzzLogin(f *testing.F) *fuzzLogin {
	ctx := context.Background()
	store := memory.New()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clk := storagetest.NewClock(now)
	fake := &fakeHasher{}
	h, err := New(Config{Store: store, Hasher: fake, Issuer: "https://id.test",
		CallbackURL: func(id string) string { return callbackPath + "?id=" + url.QueryEscape(id) },
		Now:         clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	for _, err := range []error{
		store.CreateClient(ctx, &storage.Client{ID: "app", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
			RedirectURIs: []string{appRedirect}, GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, CreatedAt: now, UpdatedAt: now}),
		store.CreateUser(ctx, &storage.User{ID: "u-alice", Username: "alice", PasswordHash: "plain:" + alicePassword, CreatedAt: now, UpdatedAt: now}),
		store.CreateAuthRequest(ctx, &storage.AuthRequest{ID: "req1", ClientID: "app", RedirectURI: appRedirect,
			Scopes: []string{"openid"}, CreatedAt: now, ExpiresAt: now.AddDate(1000, 0, 0)}),
	} {
		if err != nil {
			f.Fatal(err)
		}
	}
	value := storage.NewToken()
	return &fuzzLogin{mux: mux, fake: fake, clock: clk, id: "req1", token: h.csrfToken(value),
		cookie: &http.Cookie{Name: h.csrfName, Value: value}}
}

// FuzzLoginForm posts arbitrary sign-in forms (checklist B13: form
// decoding): fuzzed username, password and request id inside a form with a
// valid CSRF token, followed by arbitrary raw form text (repeated or
// malformed fields, odd encodings). Properties: no panic, never a 5xx,
// only the statuses the page defines, at most one password check per
// request, and a redirect only for alice's right password.
// Seeds: testdata/fuzz/FuzzLoginForm.
func FuzzLoginForm(f *testing.F) {
	fl := newFuzzLogin(f)
	f.Add("alice", alicePassword, "req1", "")
	f.Add("alice", "wrong", "req1", "username=bob&password=x")
	f.Fuzz(func(t *testing.T, username, pw, id, extra string) {
		body := url.Values{"csrf_token": {fl.token}, "id": {id}, "username": {username}, "password": {pw}}.Encode()
		if extra != "" {
			body += "&" + extra
		}
		r := httptest.NewRequest(http.MethodPost, "https://id.test/login", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.AddCookie(fl.cookie)
		w := httptest.NewRecorder()
		fl.clock.Advance(25 * time.Hour) // every throttle window has passed: each input reaches the password check
		before := fl.fake.calls()
		fl.mux.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusSeeOther:
			form, err := url.ParseQuery(body)
			if err != nil || form.Get("username") != "alice" || form.Get("password") != alicePassword || form.Get("id") != fl.id {
				t.Fatalf("redirected for %q", body)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
			http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		default:
			t.Fatalf("status %d for %q", w.Code, body)
		}
		if n := fl.fake.calls() - before; n > 1 {
			t.Fatalf("%d password checks for one request", n)
		}
	})
}

// FuzzClientAddr checks the address sign-in attempts are counted against
// (checklist S10, B11): whatever RemoteAddr and X-Forwarded-For say, the
// result is "unknown", an IPv4 address or an IPv6 /64, and without trusted
// proxies X-Forwarded-For is ignored. Seeds: testdata/fuzz/FuzzClientAddr.
func FuzzClientAddr(f *testing.F) {
	f.Add("192.0.2.1:1234", "203.0.113.5")
	f.Add("[2001:db8::1]:443", "10.0.0.1, 198.51.100.7")
	plain := &Handler{}
	proxied := &Handler{throttle: ThrottleConfig{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		got := plain.clientAddr(r)
		r.Header.Del("X-Forwarded-For")
		if again := plain.clientAddr(r); got != again {
			t.Fatalf("without trusted proxies X-Forwarded-For changed the address: %q vs %q", got, again)
		}
		r.Header.Set("X-Forwarded-For", xff)
		for _, a := range []string{got, proxied.clientAddr(r)} {
			if a == "unknown" {
				continue
			}
			if p, err := netip.ParsePrefix(a); err == nil && p.Addr().Is6() && p.Bits() == 64 {
				continue
			}
			if ip, err := netip.ParseAddr(a); err == nil && ip.Is4() {
				continue
			}
			t.Fatalf("client address %q from RemoteAddr %q, X-Forwarded-For %q", a, remote, xff)
		}
	})
}
