package session

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanUserAgent(t *testing.T) {
	long := strings.Repeat("a", MaxUserAgent-1) + "é" // é would end at byte 257
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (X11; Linux x86_64)"},
		{"empty", "", ""},
		{"NUL and controls dropped", "Mozilla\x00/5.0\r\n\t(x)\x7f\u0085", "Mozilla/5.0(x)"},
		{"invalid UTF-8 dropped", "Mozilla\xff\xfe/5.0", "Mozilla/5.0"},
		{"non-ASCII kept", "ブラウザ/1.0", "ブラウザ/1.0"},
		{"space trimmed", "  ua/1  ", "ua/1"},
		{"cut at a character boundary", long, strings.Repeat("a", MaxUserAgent-1)},
		{"cut to the limit", strings.Repeat("b", 1000), strings.Repeat("b", MaxUserAgent)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := CleanUserAgent(tc.in)
			if got != tc.want {
				t.Errorf("CleanUserAgent(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if len(got) > MaxUserAgent || !utf8.ValidString(got) {
				t.Errorf("result %q is over %d bytes or not UTF-8", got, MaxUserAgent)
			}
		})
	}
}

// TestSignInRecordsClient: a new session records the address and the
// cleaned User-Agent; a renewal in place keeps those of the first sign-in;
// a session of another user records its own.
func TestSignInRecordsClient(t *testing.T) {
	f := newFixture(t, "https://id.example")
	signIn := func(cookie *http.Cookie, a Authentication) (string, *http.Cookie) {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		s, err := f.m.SignIn(t.Context(), w, r, a)
		f.must(err)
		return s.ID, sessionCookie(t, w, f.m.CookieName())
	}
	check := func(what, id, addr, ua string) {
		t.Helper()
		s, err := f.store.GetSession(t.Context(), id)
		f.must(err)
		if s.Address != addr || s.UserAgent != ua {
			t.Errorf("%s: address %q, user agent %q; want %q, %q", what, s.Address, s.UserAgent, addr, ua)
		}
	}

	id, c := signIn(nil, Authentication{UserID: "u-alice", AMR: []string{"pwd"},
		Address: "192.0.2.1", UserAgent: "Firefox\x00/1\n"})
	check("new session", id, "192.0.2.1", "Firefox/1")

	renewed, c := signIn(c, Authentication{UserID: "u-alice", AMR: []string{"pwd", "otp"},
		Address: "198.51.100.9", UserAgent: "Chrome/2"})
	if renewed != id {
		t.Fatalf("renewal created session %s, want %s renewed", renewed, id)
	}
	check("renewed session", id, "192.0.2.1", "Firefox/1")

	other, _ := signIn(c, Authentication{UserID: "u-bob", AMR: []string{"pwd"},
		Address: "2001:db8::/64", UserAgent: "Safari/3"})
	check("another user's session", other, "2001:db8::/64", "Safari/3")
}

// TestFlowRecordsClient: the flow passes the configured client address
// and the request's User-Agent to the session it starts.
func TestFlowRecordsClient(t *testing.T) {
	f, _, id := flowFixture(t)
	flow, err := NewFlow(FlowConfig{Sessions: f.m, Key: []byte("0123456789abcdef0123456789abcdef"),
		Steps:      []Step{factorStep{"login", "pwd"}},
		Callback:   func(id string) string { return "/cb?id=" + id },
		ClientAddr: func(*http.Request) string { return "203.0.113.5" }})
	f.must(err)
	r := httptest.NewRequest(http.MethodPost, "/step", nil)
	r.Header.Set("User-Agent", "Mozilla/5.0 (test)")
	p := flow.Resume(r, id)
	p.Identify("u-alice")
	p.Passed("pwd")
	_, s, err := flow.Advance(t.Context(), httptest.NewRecorder(), r, p)
	f.must(err)
	got, err := f.store.GetSession(t.Context(), s.ID)
	f.must(err)
	if got.Address != "203.0.113.5" || got.UserAgent != "Mozilla/5.0 (test)" {
		t.Errorf("flow session: address %q, user agent %q", got.Address, got.UserAgent)
	}
}
