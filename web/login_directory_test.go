package web

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/connector"
)

// fakeDirectory is a connector.PasswordChecker: the username "dirk" with
// the password "dirk-password" is its person, or every check fails with
// err when set. It counts the checks.
type fakeDirectory struct {
	subject string
	err     error
	checks  atomic.Int32
}

func (f *fakeDirectory) CheckPassword(_ context.Context, username, password string) (connector.Identity, error) {
	f.checks.Add(1)
	switch {
	case f.err != nil:
		return connector.Identity{}, f.err
	case username != "dirk" || password != "dirk-password":
		return connector.Identity{}, connector.ErrInvalidCredentials
	}
	return connector.Identity{Subject: f.subject, Username: "dirk", Groups: []string{"ops"}}, nil
}

func withDirectories(dirs ...*fakeDirectory) envOption {
	return func(c *Config) {
		for i, d := range dirs {
			id := []string{"first", "second"}[i]
			c.Connectors = append(c.Connectors, Connector{ID: id, Names: map[string]string{"": id}, Password: d, JIT: true})
		}
	}
}

// TestDirectorySignIn: the directories are asked in order until one
// knows the person; one that did not answer decides only when no other
// knows the person; a directory has no button or pages of its own; a
// local user with a local password is never sent to a directory.
func TestDirectorySignIn(t *testing.T) {
	invalid, down, unusable := connector.ErrInvalidCredentials, connector.ErrUpstreamUnavailable, connector.ErrInvalidResponse
	tests := []struct {
		name          string
		first, second error // each directory's answer to every check; nil: it knows dirk
		username      string
		wantStatus    int
		wantTitle     string // the error page's, "" for the form or a sign-in
		wantVia       string // the connector the user is linked to
	}{
		{name: "first knows", username: "dirk", wantStatus: http.StatusSeeOther, wantVia: "first"},
		{name: "second knows", first: invalid, username: "dirk", wantStatus: http.StatusSeeOther, wantVia: "second"},
		{name: "first down, second knows", first: down, username: "dirk", wantStatus: http.StatusSeeOther, wantVia: "second"},
		{name: "first down, second does not know", first: down, username: "nobody",
			wantStatus: http.StatusServiceUnavailable, wantTitle: directoryUnavailableT},
		{name: "unusable answer", first: unusable, second: invalid, username: "dirk",
			wantStatus: http.StatusBadGateway, wantTitle: connInvalidT},
		{name: "nobody knows", username: "nobody", wantStatus: http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, false, withDirectories(&fakeDirectory{subject: "f-1", err: tc.first},
				&fakeDirectory{subject: "s-1", err: tc.second}))
			c := e.browser()
			id := e.newRequest()
			form := e.get(c, e.h.SignInURL(id))
			if strings.Contains(form.body, "connector-first") {
				t.Fatal("a directory has a button")
			}
			p := e.login(c, id, tc.username, "dirk-password")
			if p.status != tc.wantStatus {
				t.Fatalf("status %d, want %d\n%s", p.status, tc.wantStatus, p.body)
			}
			if tc.wantTitle != "" && !strings.Contains(p.body, en(tc.wantTitle)) {
				t.Fatalf("page lacks %q:\n%s", en(tc.wantTitle), p.body)
			}
			if tc.wantStatus == http.StatusUnauthorized && !strings.Contains(p.body, en(badCredentials)) {
				t.Fatalf("not the wrong-password form:\n%s", p.body)
			}
			if e.fake != nil && e.fake.dummy.Load() == 0 {
				t.Fatal("no argon2id effort spent alongside the directory check")
			}
			if tc.wantVia == "" {
				if e.sessionCookie(c) != "" {
					t.Fatal("a failed directory sign-in left a session")
				}
				if len(e.auditDetails(storage.ActionSignInFailed)) == 0 {
					t.Fatal("no audit entry")
				}
				return
			}
			u, err := e.store.GetUserByUsername(t.Context(), "dirk")
			e.must(err)
			links, err := e.store.ListUserFederatedIdentities(t.Context(), u.ID)
			e.must(err)
			if len(links) != 1 || links[0].ConnectorID != tc.wantVia || !strings.HasPrefix(p.header.Get("Location"), callbackPath) {
				t.Fatalf("links %v, location %q; want one of %s and the callback", links, p.header.Get("Location"), tc.wantVia)
			}
			if e.get(c, "/connector/"+tc.wantVia+"/start?id="+id).status != http.StatusNotFound {
				t.Fatal("a directory has a start page")
			}
		})
	}

	t.Run("local password is checked locally", func(t *testing.T) {
		dir := &fakeDirectory{subject: "f-1"}
		e := newEnv(t, false, withDirectories(dir))
		e.addUser("u-dirk", "dirk", "plain:local password", false)
		c := e.browser()
		if p := e.login(c, e.newRequest(), "dirk", "dirk-password"); p.status != http.StatusUnauthorized {
			t.Fatalf("the directory's password for a local user: %d", p.status)
		}
		if p := e.login(c, e.newRequest(), "dirk", "local password"); p.status != http.StatusSeeOther {
			t.Fatalf("the local password: %d", p.status)
		}
		if n := dir.checks.Load(); n != 0 {
			t.Fatalf("the directory was asked %d times", n)
		}
	})
}
