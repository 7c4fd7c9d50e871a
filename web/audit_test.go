package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

// wrongPassword is what the failed attempts type; like alicePassword it
// must never reach the audit trail or the log.
const wrongPassword = "Tr0ub4dor&3 not alice's"

// TestAuditEvents checks that each security event of the browser pages
// writes exactly one audit entry and exactly one log line, with the
// person, their address and a reason, and never a password.
func TestAuditEvents(t *testing.T) {
	fail := func(e *testEnv, c *http.Client, n int, username string) {
		id, token := e.loginForm(c)
		for range n {
			e.attemptFrom(c, id, token, "", username, wrongPassword)
		}
	}
	for _, tc := range []struct {
		name   string
		setup  func(e *testEnv, c *http.Client) string // returns an auth request id for act
		act    func(e *testEnv, c *http.Client, id string) page
		status int
		want   storage.AuditEntry // Target and Detail: prefixes
	}{
		{
			name:   "signin.ok",
			setup:  func(e *testEnv, _ *http.Client) string { return e.newRequest() },
			act:    func(e *testEnv, c *http.Client, id string) page { return e.login(c, id, "alice", alicePassword) },
			status: http.StatusSeeOther,
			want: storage.AuditEntry{Action: storage.ActionSignIn, ActorID: "u-alice", Actor: "alice",
				Target: "session:", Address: "127.0.0.1", Detail: "client app"},
		},
		{
			name:   "signin.failed/wrong-password",
			setup:  func(e *testEnv, _ *http.Client) string { return e.newRequest() },
			act:    func(e *testEnv, c *http.Client, id string) page { return e.login(c, id, "alice", wrongPassword) },
			status: http.StatusUnauthorized,
			want: storage.AuditEntry{Action: storage.ActionSignInFailed, ActorID: "u-alice", Actor: "alice",
				Address: "127.0.0.1", Detail: "wrong password (client app)"},
		},
		{
			name:   "signin.failed/unknown-user",
			setup:  func(e *testEnv, _ *http.Client) string { return e.newRequest() },
			act:    func(e *testEnv, c *http.Client, id string) page { return e.login(c, id, "mallory", wrongPassword) },
			status: http.StatusUnauthorized,
			want: storage.AuditEntry{Action: storage.ActionSignInFailed, Actor: "mallory",
				Address: "127.0.0.1", Detail: "unknown user"},
		},
		{
			name: "signin.failed/disabled-with-right-password",
			setup: func(e *testEnv, _ *http.Client) string {
				e.addUser("u-dora", "dora", "plain:"+alicePassword, true)
				return e.newRequest()
			},
			act:    func(e *testEnv, c *http.Client, id string) page { return e.login(c, id, "dora", alicePassword) },
			status: http.StatusUnauthorized,
			want: storage.AuditEntry{Action: storage.ActionSignInFailed, ActorID: "u-dora", Actor: "dora",
				Address: "127.0.0.1", Detail: "disabled"},
		},
		{
			name: "signin.lockout/fifth-failure",
			setup: func(e *testEnv, c *http.Client) string {
				fail(e, c, DefaultThrottle.AccountAddress.Free-1, "alice")
				return e.newRequest()
			},
			act:    func(e *testEnv, c *http.Client, id string) page { return e.login(c, id, "alice", wrongPassword) },
			status: http.StatusUnauthorized,
			want: storage.AuditEntry{Action: storage.ActionLockout, ActorID: "u-alice", Actor: "alice",
				Address: "127.0.0.1", Detail: "wrong password (client app); locked: account_address until "},
		},
		{
			name: "signin.failed/throttled-account",
			setup: func(e *testEnv, c *http.Client) string {
				fail(e, c, DefaultThrottle.AccountAddress.Free, "alice")
				return e.newRequest()
			},
			act:    func(e *testEnv, c *http.Client, id string) page { return e.login(c, id, "alice", alicePassword) },
			status: http.StatusUnauthorized,
			want: storage.AuditEntry{Action: storage.ActionSignInFailed, Actor: "alice",
				Address: "127.0.0.1", Detail: "throttled (account_address)"},
		},
		{
			name: "signin.failed/throttled-address",
			setup: func(e *testEnv, c *http.Client) string {
				id, token := e.loginForm(c)
				for i := range DefaultThrottle.Address.Free {
					e.attemptFrom(c, id, token, "", fmt.Sprintf("user%d", i), wrongPassword)
				}
				return e.newRequest()
			},
			act:    func(e *testEnv, c *http.Client, id string) page { return e.login(c, id, "alice", alicePassword) },
			status: http.StatusTooManyRequests,
			want: storage.AuditEntry{Action: storage.ActionSignInFailed, Actor: "alice",
				Address: "127.0.0.1", Detail: "throttled (address)"},
		},
		{
			name: "consent.grant",
			setup: func(e *testEnv, c *http.Client) string {
				return signedInFor(e, c, "openid", "profile", "email", "offline_access", "custom:read")
			},
			act:    func(e *testEnv, c *http.Client, id string) page { return answerConsent(e, c, id, "approve") },
			status: http.StatusSeeOther,
			want: storage.AuditEntry{Action: storage.ActionConsentGrant, ActorID: "u-alice", Actor: "alice",
				Target: "client:app", Address: "127.0.0.1", Detail: "scopes: openid profile email offline_access custom:read"},
		},
		{
			name:   "consent.deny",
			setup:  func(e *testEnv, c *http.Client) string { return signedInFor(e, c, "openid") },
			act:    func(e *testEnv, c *http.Client, id string) page { return answerConsent(e, c, id, "deny") },
			status: http.StatusSeeOther,
			want: storage.AuditEntry{Action: storage.ActionConsentDeny, ActorID: "u-alice", Actor: "alice",
				Target: "client:app", Address: "127.0.0.1", Detail: "scopes: openid"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf syncBuffer
			e := newEnv(t, false, func(c *Config) { c.Logger = slog.New(slog.NewJSONHandler(&buf, nil)) })
			c := e.browser()
			id := tc.setup(e, c)
			before := auditIDs(t, e)
			buf.Reset()

			if got := tc.act(e, c, id); got.status != tc.status {
				t.Fatalf("status %d, want %d:\n%.500s", got.status, tc.status, got.body)
			}

			var added []*storage.AuditEntry
			all, err := e.store.ListAudit(context.Background(), storage.AuditFilter{}, 0, 1000)
			e.must(err)
			for _, x := range all {
				if !before[x.ID] {
					added = append(added, x)
				}
			}
			if len(added) != 1 {
				t.Fatalf("%d audit entries written, want exactly 1: %+v", len(added), added)
			}
			got, w := added[0], tc.want
			if got.Action != w.Action || got.ActorID != w.ActorID || got.Actor != w.Actor || got.Address != w.Address ||
				!strings.HasPrefix(got.Target, w.Target) || !strings.HasPrefix(got.Detail, w.Detail) ||
				got.Before != "" || got.After != "" || !got.Time.Equal(e.clock.Now()) {
				t.Errorf("audit entry = %+v, want %+v (Target and Detail as prefixes)", got, w)
			}
			for _, x := range all {
				if s := fmt.Sprintf("%+v", *x); strings.Contains(s, alicePassword) || strings.Contains(s, wrongPassword) {
					t.Errorf("audit entry contains a password: %s", s)
				}
			}

			lines := auditLines(t, buf.String())
			if len(lines) != 1 || lines[0]["event"] != w.Action || lines[0]["audit_id"] != got.ID ||
				lines[0]["actor"] != w.Actor || lines[0]["address"] != w.Address || lines[0]["detail"] != got.Detail {
				t.Errorf("log lines with an event = %v, want one for %s carrying the entry", lines, got.ID)
			}
			if s := buf.String(); strings.Contains(s, alicePassword) || strings.Contains(s, wrongPassword) {
				t.Error("the log contains a password")
			}
		})
	}
}

// signedInFor signs c in as alice for a new request with scopes and
// returns its id, ready for the consent page.
func signedInFor(e *testEnv, c *http.Client, scopes ...string) string {
	e.t.Helper()
	id := e.newRequest(func(r *storage.AuthRequest) { r.Scopes = scopes })
	if p := e.login(c, id, "alice", alicePassword); p.status != http.StatusSeeOther {
		e.t.Fatalf("login: %d\n%s", p.status, p.body)
	}
	return id
}

// answerConsent opens the consent page for id and posts action.
func answerConsent(e *testEnv, c *http.Client, id, action string) page {
	e.t.Helper()
	token := csrf(e.t, e.get(c, e.h.ConsentURL(id)))
	return e.post(c, "/consent", url.Values{"id": {id}, "csrf_token": {token}, "action": {action}})
}

// auditIDs returns the IDs of every entry in the trail.
func auditIDs(t *testing.T, e *testEnv) map[string]bool {
	t.Helper()
	all, err := e.store.ListAudit(context.Background(), storage.AuditFilter{}, 0, 1000)
	e.must(err)
	ids := map[string]bool{}
	for _, x := range all {
		ids[x.ID] = true
	}
	return ids
}

// auditLines returns the JSON log lines that carry an "event".
func auditLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["event"] != nil {
			out = append(out, m)
		}
	}
	return out
}
