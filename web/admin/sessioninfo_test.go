package admin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// TestSessionsPageShowsClient: the sessions page shows each session's
// sign-in address and browser, and says so when a session (from before
// migration 00021) recorded neither (issue 15 item 5).
func TestSessionsPageShowsClient(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	e.must(e.store.CreateSession(t.Context(), &storage.Session{ID: "s-old", TokenHash: storage.HashToken(storage.NewToken()),
		UserID: "u-bob", AuthTime: now, AMR: []string{"pwd"}, CreatedAt: now.Add(-time.Minute), LastSeenAt: now,
		ExpiresAt: now.Add(time.Hour)}))
	p := e.do(e.browser("u-admin"), "GET", "/admin/sessions", nil)
	if p.status != 200 {
		t.Fatalf("status %d\n%s", p.status, p.body)
	}
	for _, want := range []string{
		"<code>192.0.2.9</code>",
		"<code>Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0</code>",
		"Not recorded",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("sessions page lacks %q:\n%s", want, p.body)
		}
	}
}
