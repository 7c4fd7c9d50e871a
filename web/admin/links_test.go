package admin_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

// TestRemoveLink: an administrator sees a person's linked upstream
// identities and removes one; the change is audited; a link of another
// user cannot be removed through this user's page.
func TestRemoveLink(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	for _, l := range []*storage.FederatedIdentity{
		{ConnectorID: "github", Subject: "1", UserID: "u-bob", Email: "bob@example.com"},
		{ConnectorID: "github", Subject: "2", UserID: "u-admin"},
	} {
		l.CreatedAt, l.LastUsedAt = e.clock.Now(), e.clock.Now()
		e.must(e.store.CreateFederatedIdentity(ctx, l))
	}
	admin := e.browser("u-admin")
	page := e.do(admin, "GET", "/admin/users/u-bob", nil)
	if !strings.Contains(page.body, `id="links-heading"`) || !strings.Contains(page.body, "bob@example.com") {
		t.Fatalf("user page without the linked identity:\n%s", page.body)
	}
	tests := []struct {
		name       string
		user, subj string
		want       int
	}{
		{"another user's link", "u-bob", "2", http.StatusNotFound},
		{"unknown link", "u-bob", "9", http.StatusNotFound},
		{"bob's link", "u-bob", "1", http.StatusSeeOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := e.do(admin, "POST", "/admin/users/"+tc.user+"/links/remove",
				url.Values{"csrf_token": {e.csrf(admin)}, "connector": {"github"}, "subject": {tc.subj}})
			if p.status != tc.want {
				t.Fatalf("status %d, want %d\n%s", p.status, tc.want, p.body)
			}
		})
	}
	if _, err := e.store.GetFederatedIdentity(ctx, "github", "1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("bob's link is still there: %v", err)
	}
	if _, err := e.store.GetFederatedIdentity(ctx, "github", "2"); err != nil {
		t.Fatalf("the admin's link was removed: %v", err)
	}
	list, err := e.store.ListAudit(ctx, storage.AuditFilter{Actions: []string{storage.ActionIdentityUnlinked}}, 0, 10)
	if err != nil || len(list) != 1 || list[0].Target != "user:u-bob" {
		t.Fatalf("audit %+v, %v", list, err)
	}
}
