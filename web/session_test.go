package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/session"
)

func TestCurrentSession(t *testing.T) {
	tests := []struct {
		name   string
		cookie func(e *testEnv, value string) string // cookie to present; "" means none
		after  func(e *testEnv, s *storage.Session)
		want   bool
	}{
		{name: "live session", want: true},
		{name: "no cookie", cookie: func(*testEnv, string) string { return "" }},
		{name: "attacker-chosen well-formed value", cookie: func(*testEnv, string) string { return storage.NewToken() }},
		{name: "malformed value", cookie: func(*testEnv, string) string { return "'OR'1'='1" }},
		{name: "session id instead of token", cookie: func(e *testEnv, v string) string {
			s, err := e.store.GetSessionByTokenHash(context.Background(), storage.HashToken(v))
			e.must(err)
			return s.ID
		}},
		{name: "token hash instead of token", cookie: func(_ *testEnv, v string) string { return storage.HashToken(v) }},
		{name: "revoked", after: func(e *testEnv, s *storage.Session) {
			e.must(e.store.RevokeSession(context.Background(), s.ID, e.clock.Now()))
		}},
		{name: "idle for more than the idle timeout", after: func(e *testEnv, _ *storage.Session) {
			e.clock.Advance(session.DefaultIdleTimeout + time.Minute)
		}},
		{name: "past absolute expiry despite activity", after: func(e *testEnv, s *storage.Session) {
			for range 15 { // 15 × 50 min > 12 h
				e.clock.Advance(50 * time.Minute)
				e.must(e.store.TouchSession(context.Background(), s.ID, e.clock.Now()))
			}
		}},
		{name: "active within idle timeout", after: func(e *testEnv, _ *storage.Session) {
			e.clock.Advance(session.DefaultIdleTimeout - time.Minute)
		}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, false)
			c := e.browser()
			if p := e.login(c, e.newRequest(), "alice", alicePassword); p.status != http.StatusSeeOther {
				t.Fatalf("login: %d", p.status)
			}
			value := e.sessionCookie(c)
			s, err := e.store.GetSessionByTokenHash(context.Background(), storage.HashToken(value))
			e.must(err)
			if tt.after != nil {
				tt.after(e, s)
			}
			if tt.cookie != nil {
				value = tt.cookie(e, value)
			}
			r := httptest.NewRequest(http.MethodGet, "/authorize", nil)
			if value != "" {
				r.AddCookie(&http.Cookie{Name: e.h.sessions.CookieName(), Value: value})
			}
			got, err := e.h.sessions.Current(r)
			if err != nil {
				t.Fatalf("CurrentSession: %v", err)
			}
			if (got != nil) != tt.want {
				t.Fatalf("CurrentSession = %+v, want session: %v", got, tt.want)
			}
			if got != nil && got.ID != s.ID {
				t.Errorf("got session %s, want %s", got.ID, s.ID)
			}
		})
	}
}

func TestCurrentSessionTouchesAtMostOncePerMinute(t *testing.T) {
	e := newEnv(t, false)
	c := e.browser()
	e.login(c, e.newRequest(), "alice", alicePassword)
	value := e.sessionCookie(c)
	lastSeen := func() time.Time {
		s, err := e.store.GetSessionByTokenHash(context.Background(), storage.HashToken(value))
		e.must(err)
		return s.LastSeenAt
	}
	start := e.clock.Now()
	steps := []struct {
		advance time.Duration
		want    time.Time
	}{
		{advance: 30 * time.Second, want: start},
		{advance: 29 * time.Second, want: start},
		{advance: time.Second, want: start.Add(time.Minute)},
		{advance: 10 * time.Second, want: start.Add(time.Minute)},
	}
	for i, st := range steps {
		e.clock.Advance(st.advance)
		s, err := e.h.sessions.Current(e.requestFor(c))
		if err != nil || s == nil {
			t.Fatalf("step %d: CurrentSession = %v, %v", i, s, err)
		}
		if got := lastSeen(); !got.Equal(st.want) || !s.LastSeenAt.Equal(st.want) {
			t.Errorf("step %d: LastSeenAt stored %v returned %v, want %v", i, got, s.LastSeenAt, st.want)
		}
	}
}

func TestClearSession(t *testing.T) {
	for _, tls := range []bool{false, true} {
		e := newEnv(t, tls)
		w := httptest.NewRecorder()
		e.h.sessions.Clear(w)
		got := w.Result().Cookies()
		if len(got) != 1 {
			t.Fatalf("tls=%v: %d cookies", tls, len(got))
		}
		ck := got[0]
		wantName := "monban_session"
		if tls {
			wantName = "__Host-monban_session"
		}
		if ck.Name != wantName || ck.MaxAge >= 0 || ck.Value != "" || ck.Path != "/" || ck.Secure != tls || !ck.HttpOnly {
			t.Errorf("tls=%v: cookie %+v", tls, ck)
		}
		if strings.Contains(strings.ToLower(w.Header().Get("Set-Cookie")), "domain") {
			t.Errorf("tls=%v: cookie has a Domain", tls)
		}
	}
}
