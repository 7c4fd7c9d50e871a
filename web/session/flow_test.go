package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// factorStep is a test Step: done once the method was passed.
type factorStep struct{ name, method string }

func (s factorStep) Name() string         { return s.name }
func (s factorStep) URL(id string) string { return "/" + s.name + "?id=" + id }
func (s factorStep) Done(_ context.Context, p *Progress) (bool, error) {
	return p.UserID != "" && p.Has(s.method), nil
}

// flowFixture is a two-step flow (password, then a one-time code) with a
// pending authorization request.
func flowFixture(t *testing.T) (*fixture, *Flow, string) {
	t.Helper()
	f := newFixture(t, "https://id.example")
	flow, err := NewFlow(FlowConfig{Sessions: f.m, Key: []byte("0123456789abcdef0123456789abcdef"),
		Steps:    []Step{factorStep{"login", "pwd"}, factorStep{"otp", "otp"}},
		Callback: func(id string) string { return "/authorize/callback?id=" + id }})
	f.must(err)
	now := f.clock.Now()
	f.must(f.store.CreateClient(t.Context(), &storage.Client{ID: "app", RedirectURIs: []string{"https://app.example/cb"},
		CreatedAt: now, UpdatedAt: now}))
	req := &storage.AuthRequest{ID: "req1", ClientID: "app", RedirectURI: "https://app.example/cb", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	f.must(f.store.CreateAuthRequest(t.Context(), req))
	return f, flow, req.ID
}

// advance runs one step's completion on a request with cookies and
// returns the next page, the session (when complete) and the response.
func advance(t *testing.T, flow *Flow, cookies []*http.Cookie, p func(*Progress)) (string, *storage.Session, *httptest.ResponseRecorder) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/step", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	prog := flow.Resume(r, "req1")
	p(prog)
	w := httptest.NewRecorder()
	next, s, err := flow.Advance(t.Context(), w, r, prog)
	if err != nil {
		t.Fatal(err)
	}
	return next, s, w
}

// TestFlowSteps: each factor step leads to the next; only when all are
// done is the session started and the request authenticated, with every
// method in amr.
func TestFlowSteps(t *testing.T) {
	f, flow, id := flowFixture(t)
	if got := flow.Start(id); got != "/login?id=req1" {
		t.Fatalf("Start = %q", got)
	}
	next, s, w := advance(t, flow, nil, func(p *Progress) { p.Identify("u-alice"); p.Passed("pwd") })
	if next != "/otp?id=req1" || s != nil {
		t.Fatalf("after the password: %q, session %v; want the otp step", next, s)
	}
	if req, _ := f.store.GetAuthRequest(t.Context(), id); req.Authenticated() {
		t.Fatal("request authenticated before every factor passed")
	}
	progress := w.Result().Cookies()
	next, s, w = advance(t, flow, progress, func(p *Progress) {
		if p.UserID != "u-alice" || !p.Has("pwd") {
			t.Fatalf("progress not resumed: %+v", p)
		}
		p.Passed("otp")
	})
	// RFC 8176 §2: two factors add "mfa".
	if next != "/authorize/callback?id=req1" || s == nil || !slices.Equal(s.AMR, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("after the otp: %q, session %+v", next, s)
	}
	req, err := f.store.GetAuthRequest(t.Context(), id)
	f.must(err)
	if !req.Authenticated() || req.SessionID != s.ID || req.UserID != "u-alice" {
		t.Fatalf("request %+v not bound to session %s", req, s.ID)
	}
	if c := sessionCookie(t, w, "__Host-monban_flow"); c.MaxAge >= 0 {
		t.Fatalf("progress cookie not cleared: %+v", c)
	}
}

// TestFlowProgressRefused: progress that is forged, expired, for another
// request, or for another user is not carried over.
func TestFlowProgressRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cookie func(f *fixture, c *http.Cookie)
		update func(p *Progress)
	}{
		{"forged", func(_ *fixture, c *http.Cookie) { c.Value = c.Value[:len(c.Value)-2] + "AA" }, nil},
		{"expired", func(f *fixture, _ *http.Cookie) { f.clock.Advance(DefaultProgressTTL + time.Second) }, nil},
		{"other-user", nil, func(p *Progress) { p.Identify("u-bob") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, flow, _ := flowFixture(t)
			_, _, w := advance(t, flow, nil, func(p *Progress) { p.Identify("u-alice"); p.Passed("pwd") })
			c := w.Result().Cookies()[0]
			if tc.cookie != nil {
				tc.cookie(f, c)
			}
			next, s, _ := advance(t, flow, []*http.Cookie{c}, func(p *Progress) {
				if tc.update != nil {
					tc.update(p)
				}
				p.Passed("otp")
			})
			if next != "/login?id=req1" || s != nil {
				t.Fatalf("went on to %q (session %v) without the password", next, s)
			}
		})
	}
	t.Run("other-request", func(t *testing.T) {
		_, flow, _ := flowFixture(t)
		_, _, w := advance(t, flow, nil, func(p *Progress) { p.Identify("u-alice"); p.Passed("pwd") })
		r := httptest.NewRequest(http.MethodPost, "/step", nil)
		r.AddCookie(w.Result().Cookies()[0])
		if p := flow.Resume(r, "req2"); p.UserID != "" || len(p.AMR) != 0 || p.RequestID != "req2" {
			t.Fatalf("progress of req1 resumed for req2: %+v", p)
		}
	})
}
