package session

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/pending"
)

// TestFlowSealedRequest: a request nobody had signed in to arrives sealed
// (storage/pending). The progress cookie between steps stays small
// however long the sealed id; the completed sign-in stores the request
// for the first time, bound to the session, under the id it was minted
// with, and the callback gets that id. The same sealed value cannot
// complete a second stored request while the first lives (ErrConflict);
// an expired one, or one without a sealer, is gone (ErrNotFound).
func TestFlowSealedRequest(t *testing.T) {
	f := newFixture(t, "https://id.example")
	sealer, err := pending.New([]byte("0123456789abcdef0123456789abcdef"), f.clock.Now)
	f.must(err)
	newFlow := func(s *pending.Sealer) *Flow {
		flow, err := NewFlow(FlowConfig{Sessions: f.m, Key: []byte("0123456789abcdef0123456789abcdef"),
			Steps:    []Step{factorStep{"login", "pwd"}, factorStep{"otp", "otp"}},
			Callback: func(id string) string { return "/authorize/callback?id=" + id }, Pending: s})
		f.must(err)
		return flow
	}
	flow := newFlow(sealer)
	now := f.clock.Now()
	f.must(f.store.CreateClient(t.Context(), &storage.Client{ID: "app", RedirectURIs: []string{"https://app.example/cb"},
		CreatedAt: now, UpdatedAt: now}))
	req := &storage.AuthRequest{ID: storage.NewID(), ClientID: "app", RedirectURI: "https://app.example/cb",
		State: strings.Repeat("s", 2048), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	sealed, err := sealer.Seal(req)
	f.must(err)

	step := func(flow *Flow, cookies []*http.Cookie, passed ...string) (string, *storage.Session, *httptest.ResponseRecorder, error) {
		r := httptest.NewRequest(http.MethodPost, "/step", nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		prog := flow.Resume(r, sealed)
		prog.Identify("u-alice")
		for _, m := range passed {
			prog.Passed(m)
		}
		w := httptest.NewRecorder()
		next, s, err := flow.Advance(t.Context(), w, r, prog)
		return next, s, w, err
	}

	next, _, w, err := step(flow, nil, "pwd")
	f.must(err)
	if next != "/otp?id="+sealed {
		t.Fatalf("after the password: %.80q, want the otp step with the sealed id", next)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || len(cookies[0].Value) > 512 {
		t.Fatalf("progress cookie for a %d-byte sealed id: %d cookies, %d bytes", len(sealed), len(cookies), len(cookies[0].Value))
	}
	if _, err := f.store.GetAuthRequest(t.Context(), req.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("stored before sign-in completed: %v", err)
	}

	next, s, _, err := step(flow, cookies, "otp") // pwd comes from the cookie
	f.must(err)
	if next != "/authorize/callback?id="+req.ID || s == nil {
		t.Fatalf("completed: %q, session %v; want the callback with id %s", next, s, req.ID)
	}
	stored, err := f.store.GetAuthRequest(t.Context(), req.ID)
	f.must(err)
	// pwd, otp and the "mfa" two factors add (RFC 8176 §2)
	if stored.UserID != "u-alice" || stored.SessionID != s.ID || stored.State != req.State || len(stored.AMR) != 3 {
		t.Fatalf("stored request %+v not bound to session %s", stored, s.ID)
	}

	for _, tc := range []struct {
		name  string
		flow  *Flow
		clock time.Time
		want  error
	}{
		{"used-again", flow, now, storage.ErrConflict},
		{"expired", flow, req.ExpiresAt, storage.ErrNotFound},
		{"no-sealer", newFlow(nil), now, storage.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.Set(tc.clock)
			if _, _, _, err := step(tc.flow, nil, "pwd", "otp"); !errors.Is(err, tc.want) {
				t.Fatalf("Advance: %v, want %v", err, tc.want)
			}
		})
	}
}
