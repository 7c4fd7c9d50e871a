package ldap

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/monban-idp/monban/web/connector"
	"github.com/monban-idp/monban/web/connector/ldap/slapdtest"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestCheckPassword(t *testing.T) {
	s := startDirectory(t)
	c := newConnector(t, baseConfig(s))

	tests := []struct {
		name     string
		username string
		password string
		want     *connector.Identity // Subject is checked separately
		err      error
	}{
		{name: "right password with groups", username: "alice", password: "alice-password",
			want: &connector.Identity{ConnectorID: "corp", Username: "alice", Email: "alice@example.test", EmailVerified: true,
				Name: "Alice Liddell", Groups: []string{"admins", "devs"}, AMR: []string{"pwd"}}},
		{name: "one group", username: "bob", password: "bob-password",
			want: &connector.Identity{ConnectorID: "corp", Username: "bob", Email: "bob@example.test", EmailVerified: true,
				Name: "Bob Builder", Groups: []string{"devs"}, AMR: []string{"pwd"}}},
		{name: "no mail and no group", username: "carol", password: "carol-password",
			want: &connector.Identity{ConnectorID: "corp", Username: "carol", Name: "Carol Danvers", Groups: []string{}, AMR: []string{"pwd"}}},
		{name: "username matched case-insensitively, directory's spelling kept", username: "ALICE", password: "alice-password",
			want: &connector.Identity{ConnectorID: "corp", Username: "alice", Email: "alice@example.test", EmailVerified: true,
				Name: "Alice Liddell", Groups: []string{"admins", "devs"}, AMR: []string{"pwd"}}},
		{name: "literal star uid with its own password", username: starUser.UID, password: starUser.Password,
			want: &connector.Identity{ConnectorID: "corp", Username: starUser.UID, Name: starUser.CN, Groups: []string{}, AMR: []string{"pwd"}}},
		{name: "DN with characters to escape", username: "dave", password: "dave-password",
			want: &connector.Identity{ConnectorID: "corp", Username: "dave", Name: daveUser.CN, Groups: []string{"ops"}, AMR: []string{"pwd"}}},
		{name: "wrong password", username: "alice", password: "wrong", err: connector.ErrInvalidCredentials},
		{name: "another user's password", username: "alice", password: "bob-password", err: connector.ErrInvalidCredentials},
		{name: "password of the right length but one letter off", username: "alice", password: "alice-passwore", err: connector.ErrInvalidCredentials},
		{name: "unknown user", username: "mallory", password: "alice-password", err: connector.ErrInvalidCredentials},
		{name: "empty password", username: "alice", password: "", err: connector.ErrInvalidCredentials},
		{name: "empty username", username: "", password: "alice-password", err: connector.ErrInvalidCredentials},
		{name: "DN as username", username: slapdtest.UserDN("Alice Liddell"), password: "alice-password", err: connector.ErrInvalidCredentials},
		{name: "injection closing the filter", username: "*)(uid=*", password: "alice-password", err: connector.ErrInvalidCredentials},
		{name: "injection with an or", username: "admin)(|(uid=*", password: "alice-password", err: connector.ErrInvalidCredentials},
		{name: "wildcard", username: "*", password: "alice-password", err: connector.ErrInvalidCredentials},
		{name: "prefix wildcard", username: "al*", password: "alice-password", err: connector.ErrInvalidCredentials},
		{name: "NUL byte", username: "alice\x00", password: "alice-password", err: connector.ErrInvalidCredentials},
		{name: "invalid UTF-8", username: "alice\xff", password: "alice-password", err: connector.ErrInvalidCredentials},
		{name: "over-long username", username: strings.Repeat("a", maxUsernameBytes+1), password: "x", err: connector.ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.CheckPassword(t.Context(), tt.username, tt.password)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("CheckPassword = %+v, %v; want %v", got, err, tt.err)
				}
				if got.Subject != "" {
					t.Errorf("identity %+v returned with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckPassword: %v", err)
			}
			if !uuidPattern.MatchString(got.Subject) {
				t.Errorf("Subject = %q, want the entryUUID", got.Subject)
			}
			tt.want.Subject = got.Subject
			if !equalIdentity(got, *tt.want) {
				t.Errorf("identity =\n%+v\nwant\n%+v", got, *tt.want)
			}
		})
	}
}

func equalIdentity(a, b connector.Identity) bool {
	return a.ConnectorID == b.ConnectorID && a.Subject == b.Subject && a.Username == b.Username &&
		a.Email == b.Email && a.EmailVerified == b.EmailVerified && a.Name == b.Name &&
		slices.Equal(a.Groups, b.Groups) && (a.Groups == nil) == (b.Groups == nil) && slices.Equal(a.AMR, b.AMR)
}

// TestEmptyPasswordNeverReachesTheDirectory points the connector at a
// port nothing listens on: an empty password must be refused as invalid
// credentials, not reported as an unreachable directory.
func TestEmptyPasswordNeverReachesTheDirectory(t *testing.T) {
	cfg := Config{ConnectorID: "corp", URL: "ldap://" + closedPort(t), UserSearchBase: "dc=example,dc=test",
		UserFilter: "(uid=%s)", BindDN: "cn=reader,dc=example,dc=test", BindPassword: "x"}
	c := newConnector(t, cfg)
	if _, err := c.CheckPassword(t.Context(), "alice", ""); !errors.Is(err, connector.ErrInvalidCredentials) {
		t.Fatalf("empty password: %v, want ErrInvalidCredentials without contacting the directory", err)
	}
}

// TestUserFilterEscaped searches with hostile usernames: the search
// matches at most the entry whose uid is the username literally, while
// the same text spliced in unescaped would match every user.
func TestUserFilterEscaped(t *testing.T) {
	s := startDirectory(t)
	c := newConnector(t, baseConfig(s))
	unescaped := *c
	unescaped.cfg.UserFilter = fillFilter(c.cfg.UserFilter, "*")
	all, err := unescaped.searchUsers(t.Context(), "ignored")
	if err != nil || len(all) < 2 {
		t.Fatalf("control search (uid=*) found %d entries (%v); the test needs several users", len(all), err)
	}
	for _, username := range []string{"*", "*)(uid=*", "admin)(|(uid=*", "*)(|(objectClass=*", "alice)(uid=bob", `\2a`, "(uid=*)", "a*e"} {
		t.Run(username, func(t *testing.T) {
			entries, err := c.searchUsers(t.Context(), username)
			if err != nil {
				t.Fatalf("search: %v", err)
			}
			if len(entries) > 1 {
				t.Fatalf("search for %q matched %d entries; the filter was not escaped: %s", username, len(entries), c.userFilter(username))
			}
			for _, e := range entries {
				if uid := e.GetAttributeValue("uid"); uid != username {
					t.Errorf("search for %q matched uid %q", username, uid)
				}
			}
		})
	}
}

// TestSubjectIsStable: the same person gets the same subject each time,
// and different people different ones; without id_attr it is the DN.
func TestSubjectIsStable(t *testing.T) {
	s := startDirectory(t)
	c := newConnector(t, baseConfig(s))
	first, err := c.CheckPassword(t.Context(), "alice", "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CheckPassword(t.Context(), "alice", "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := c.CheckPassword(t.Context(), "bob", "bob-password")
	if err != nil {
		t.Fatal(err)
	}
	if first.Subject != again.Subject || first.Subject == bob.Subject {
		t.Errorf("subjects alice %q, alice again %q, bob %q", first.Subject, again.Subject, bob.Subject)
	}

	cfg := baseConfig(s)
	cfg.IDAttr, cfg.GroupSearchBase, cfg.GroupFilter, cfg.EmailVerified = "", "", "", false
	byDN := newConnector(t, cfg)
	got, err := byDN.CheckPassword(t.Context(), "alice", "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != slapdtest.UserDN("Alice Liddell") || got.Groups != nil || got.EmailVerified {
		t.Errorf("without id_attr, groups and email_verified: %+v", got)
	}

	cfg.IDAttr = "employeeNumber" // no entry has it
	missing := newConnector(t, cfg)
	if _, err := missing.CheckPassword(t.Context(), "alice", "alice-password"); !errors.Is(err, connector.ErrInvalidResponse) {
		t.Errorf("entry without id_attr: %v, want ErrInvalidResponse", err)
	}
}

func TestServiceAccountRefused(t *testing.T) {
	s := startDirectory(t)
	cfg := baseConfig(s)
	cfg.BindPassword = "not-the-reader-password"
	c := newConnector(t, cfg)
	_, err := c.CheckPassword(t.Context(), "alice", "alice-password")
	if !errors.Is(err, connector.ErrUpstreamUnavailable) || !strings.Contains(err.Error(), "service account") {
		t.Fatalf("wrong service password: %v, want ErrUpstreamUnavailable naming the service account", err)
	}
}

func TestCheckPasswordCancelled(t *testing.T) {
	s := startDirectory(t)
	c := newConnector(t, baseConfig(s))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.CheckPassword(ctx, "alice", "alice-password"); !errors.Is(err, connector.ErrUpstreamUnavailable) {
		t.Fatalf("cancelled context: %v, want ErrUpstreamUnavailable", err)
	}
}

func TestGUIDString(t *testing.T) {
	b := []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10}
	if got, want := guidString(b), "04030201-0605-0807-090a-0b0c0d0e0f10"; got != want {
		t.Errorf("guidString = %s, want %s", got, want)
	}
}
