package admin_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// seedAudit fills the trail: 60 failed sign-ins by mallory on March 1st,
// three admin changes by root the same day, two consent answers by alice
// on March 2nd.
func (e *env) seedAudit() {
	e.t.Helper()
	ctx := context.Background()
	day1 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var entries []storage.AuditEntry
	for i := range 60 {
		entries = append(entries, storage.AuditEntry{Time: day1.Add(time.Duration(i) * time.Second),
			Action: storage.ActionSignInFailed, Actor: "mallory", Address: "192.0.2.7", Detail: "unknown user"})
	}
	entries = append(entries,
		storage.AuditEntry{Time: day1.Add(time.Hour), ActorID: "u-admin", Actor: "root", Action: "client.update",
			Target: "client:app", Before: `{"ID":"app"}`, After: `{"ID":"app","Name":"App"}`},
		storage.AuditEntry{Time: day1.Add(time.Hour + 2*time.Second), ActorID: "u-admin", Actor: "root", Action: "user.disable", Target: "user:u-bob"},
		storage.AuditEntry{Time: day1.Add(time.Hour + time.Second), ActorID: "u-admin", Actor: "root", Action: "session.end", Target: "session:s-bob"},
		storage.AuditEntry{Time: day1.Add(28 * time.Hour), ActorID: "u-alice", Actor: "alice", Action: storage.ActionConsentGrant,
			Target: "client:app", Address: "198.51.100.2", Detail: "scopes: openid profile"},
		storage.AuditEntry{Time: day1.Add(29 * time.Hour), ActorID: "u-alice", Actor: "alice", Action: storage.ActionConsentDeny,
			Target: "client:shop", Address: "198.51.100.2", Detail: "scopes: openid"},
	)
	for _, x := range entries {
		x.ID = storage.NewID()
		e.must(e.store.AppendAudit(ctx, &x))
	}
}

var (
	auditActionRE = regexp.MustCompile(`<td data-label="Action"><code>([^<]*)</code>`)
	auditLinkRE   = regexp.MustCompile(`<a href="([^"]*)" rel="(first|next)">`)
)

// auditPage is what an audit page shows: the action of each row and the
// pager links (unescaped).
type auditPage struct {
	page
	actions    []string
	prev, next string
}

func (e *env) audit(c *http.Client, path string) auditPage {
	e.t.Helper()
	p := auditPage{page: e.do(c, "GET", path, nil)}
	for _, m := range auditActionRE.FindAllStringSubmatch(p.body, -1) {
		p.actions = append(p.actions, m[1])
	}
	for _, m := range auditLinkRE.FindAllStringSubmatch(p.body, -1) {
		if m[2] == "first" {
			p.prev = html.UnescapeString(m[1])
		} else {
			p.next = html.UnescapeString(m[1])
		}
	}
	return p
}

// TestAuditFilter checks the audit page's filter: each field, their
// combination, the empty state, refused input and the pager.
func TestAuditFilter(t *testing.T) {
	e := newEnv(t)
	e.seedAudit()
	c := e.browser("u-admin")
	fails := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = storage.ActionSignInFailed
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		query    string
		status   int
		want     []string // the rows' actions, in order
		wantText string   // also on the page
		next     bool     // there is an older page
	}{
		{"everything", "", http.StatusOK, append([]string{"consent.deny", "consent.grant", "user.disable", "session.end", "client.update"},
			fails(45)...), "", true},
		{"sign-ins", "?action=signin", http.StatusOK, fails(50), "", true},
		{"consent", "?action=consent", http.StatusOK, []string{"consent.deny", "consent.grant"}, "scopes: openid profile", false},
		{"admin changes", "?action=admin", http.StatusOK, []string{"user.disable", "session.end", "client.update"}, "Before / after", false},
		{"nothing of a category", "?action=logout", http.StatusOK, nil, "No entries match these filters.", false},
		{"actor by username", "?actor=alice", http.StatusOK, []string{"consent.deny", "consent.grant"}, "198.51.100.2", false},
		{"actor by user ID", "?actor=u-admin", http.StatusOK, []string{"user.disable", "session.end", "client.update"}, "", false},
		{"actor trimmed", "?actor=+alice+", http.StatusOK, []string{"consent.deny", "consent.grant"}, `value="alice"`, false},
		{"target exact", "?target=client:app", http.StatusOK, []string{"consent.grant", "client.update"}, "", false},
		{"target prefix", "?target=client:*", http.StatusOK, []string{"consent.deny", "consent.grant", "client.update"}, "", false},
		{"since", "?since=2026-03-02", http.StatusOK, []string{"consent.deny", "consent.grant"}, `value="2026-03-02"`, false},
		{"combined", "?action=consent&actor=alice&target=client:shop&since=2026-03-01", http.StatusOK, []string{"consent.deny"}, "", false},
		{"no match", "?actor=nobody", http.StatusOK, nil, "No entries match these filters.", false},
		{"markup in a filter is text", "?actor=%3Cscript%3Ealert(1)%3C/script%3E", http.StatusOK, nil, "&lt;script&gt;alert(1)&lt;/script&gt;", false},
		{"bad date", "?since=yesterday", http.StatusBadRequest, nil, "Since must be a date written as YYYY-MM-DD", false},
		{"impossible date", "?since=2026-02-30", http.StatusBadRequest, nil, "Since must be a date written as YYYY-MM-DD", false},
		{"unknown category", "?action=everything", http.StatusBadRequest, nil, "Choose the events to show from the list.", false},
		{"overlong actor", "?actor=" + strings.Repeat("a", 300), http.StatusBadRequest, nil, "Actor is too long", false},
		{"cursor past the end", "?after=1.0", http.StatusOK, nil, "No more entries.", false},
		{"a cursor that is not one", "?after=yesterday", http.StatusBadRequest, nil, "This page link is not valid.", false},
		{"an overlong cursor", "?after=1." + strings.Repeat("a", 600), http.StatusBadRequest, nil, "This page link is not valid.", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.audit(c, "/admin/audit"+tc.query)
			if p.status != tc.status {
				t.Fatalf("status %d, want %d:\n%.600s", p.status, tc.status, p.body)
			}
			if strings.Join(p.actions, " ") != strings.Join(tc.want, " ") {
				t.Errorf("rows = %v, want %v", p.actions, tc.want)
			}
			if !strings.Contains(p.body, tc.wantText) {
				t.Errorf("page lacks %q", tc.wantText)
			}
			if strings.Contains(p.body, "<script>alert") {
				t.Error("a filter value reached the page unescaped")
			}
			if (p.next != "") != tc.next {
				t.Errorf("next link %q, want one: %v", p.next, tc.next)
			}
		})
	}

	t.Run("filters survive pagination", func(t *testing.T) {
		first := e.audit(c, "/admin/audit?action=signin&actor=mallory&target=&since=2026-03-01")
		if first.next == "" || !strings.Contains(first.next, "action=signin") || !strings.Contains(first.next, "actor=mallory") ||
			!strings.Contains(first.next, "since=2026-03-01") || strings.Contains(first.next, "target=") {
			t.Fatalf("next link %q does not carry the filter", first.next)
		}
		second := e.audit(c, first.next)
		if second.status != http.StatusOK || len(second.actions) != 10 || second.next != "" {
			t.Fatalf("page 2: status %d, %d rows, next %q; want 10 rows and no next", second.status, len(second.actions), second.next)
		}
		back := e.audit(c, second.prev)
		if fmt.Sprint(back.actions) != fmt.Sprint(first.actions) || back.next != first.next {
			t.Errorf("newest link %q does not lead back to page 1", second.prev)
		}
	})
}
