package main

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web"
	"github.com/monban-idp/monban/web/connector"
	"github.com/monban-idp/monban/web/connector/ldap/slapdtest"
)

const ldapRedirect = "http://ldap-app.example/cb"

// ldapFixture is a real OpenLDAP directory (slapdtest's default users
// alice, bob and carol, groups devs and admins) and a monban whose
// connector "corp" checks the sign-in form's passwords against it, with
// an application that asks for the groups scope.
type ldapFixture struct {
	dir *slapdtest.Server
	p   *testProvider
	rp  *rp
}

func newLDAPFixture(t *testing.T, store storage.Store, jit bool) *ldapFixture {
	t.Helper()
	dir := slapdtest.Start(t, slapdtest.Options{})
	pwFile := filepath.Join(t.TempDir(), "bind_password")
	if err := os.WriteFile(pwFile, []byte(slapdtest.ServicePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := connector.Config{ID: "corp", Type: connector.TypeLDAP, Name: connector.Names{"": "Corporate directory"},
		JIT: jit, Timeout: 5 * time.Second,
		LDAP: &connector.LDAPConfig{URL: dir.URL(), BindDN: slapdtest.ServiceDN, BindPasswordFile: pwFile,
			UserSearchBase: slapdtest.PeopleBase, UserFilter: "(&(objectClass=person)(uid=%s))", IDAttr: "entryUUID",
			EmailVerified: true, GroupSearchBase: slapdtest.GroupsBase,
			GroupFilter: "(&(objectClass=groupOfNames)(member=%s))"}}
	p := newTestServer(t, withStore(store), withConfig(func(ac *app.Config) { ac.Connectors = []connector.Config{c} }))
	scopes := []string{"openid", "profile", "email", "groups"}
	secret := p.addClient(t, storage.Client{ID: "ldap-app", RedirectURIs: []string{ldapRedirect}, Scopes: scopes})
	return &ldapFixture{dir: dir, p: p, rp: newRP(t, p.URL, "ldap-app", secret, ldapRedirect, scopes...)}
}

// submit opens a new authorization request in br and submits the
// sign-in form.
func (fx *ldapFixture) submit(t *testing.T, br *browser, username, pw string, opts ...oauth2.AuthCodeOption) (*flow, *http.Response, string) {
	t.Helper()
	f := fx.rp.start(opts...)
	page, body := br.visit(f.URL)
	if page.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
		t.Fatalf("sign-in page: %d\n%s", page.StatusCode, body)
	}
	resp, body := br.submit(page, body, map[string]string{"username": username, "password": pw})
	return f, resp, body
}

// signIn signs in through the application and returns its tokens.
func (fx *ldapFixture) signIn(t *testing.T, br *browser, username, pw string) *tokens {
	t.Helper()
	f, resp, _ := fx.submit(t, br, username, pw)
	tok, err := fx.rp.exchange(fx.rp.callbackParams(resp, f, fx.p.URL).Get("code"), f)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

func claimStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, s := range list {
		str, _ := s.(string)
		out = append(out, str)
	}
	slices.Sort(out)
	return out
}

// volatile is what may differ between two renderings of one page: the
// CSP nonce and the request id.
var volatile = regexp.MustCompile(`nonce="[^"]*"|data-request-id="[^"]*"`)

// TestLDAPSignIn is issue 18's LDAP "must show" with a real slapd on both
// stores: the right directory password signs in through an application
// and the ID token's groups claim holds the directory's groups; a second
// sign-in reuses the linked user; a wrong directory password, an
// unknown username and an injection attempt get the very page of a wrong
// local password; a local user with a local password is checked locally;
// the throttle applies (a locked username is refused without asking the
// directory); the second factor still applies; a stopped directory gives
// a clear page in English and Japanese, an audit entry and no session.
func TestLDAPSignIn(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newLDAPFixture(t, store, true)
		p := fx.p
		p.addUser(t, "dora", "dora local password 1")
		firstBrowser := newBrowser(t, p.URL)
		var alice *storage.User

		t.Run("right password signs in with the directory's groups", func(t *testing.T) {
			tok := fx.signIn(t, firstBrowser, "alice", "alice-password")
			if got := claimStrings(tok.claims["groups"]); !slices.Equal(got, []string{"admins", "devs"}) {
				t.Fatalf("groups claim %v, want [admins devs] from the directory", got)
			}
			if amr := claimStrings(tok.claims["amr"]); !slices.Equal(amr, []string{"pwd"}) {
				t.Fatalf("amr %v, want [pwd] (a password monban checked)", amr)
			}
			var err error
			alice, err = store.GetUserByUsername(t.Context(), "alice")
			if err != nil || alice.PasswordHash != "" || alice.Email != "alice@example.test" || !alice.EmailVerified {
				t.Fatalf("just-in-time user %+v, %v", alice, err)
			}
			if tok.idToken.Subject != alice.ID || tok.idToken.Issuer != p.URL {
				t.Fatalf("sub %q iss %q, want the local user %q of %q", tok.idToken.Subject, tok.idToken.Issuer, alice.ID, p.URL)
			}
		})
		if alice == nil {
			t.FailNow()
		}

		t.Run("second sign-in reuses the linked user", func(t *testing.T) {
			tok := fx.signIn(t, newBrowser(t, p.URL), "alice", "alice-password")
			if tok.idToken.Subject != alice.ID {
				t.Fatalf("sub %q, want the same local user %q", tok.idToken.Subject, alice.ID)
			}
			if _, err := store.GetUserByUsername(t.Context(), "alice-2"); err == nil {
				t.Fatal("a duplicate user alice-2 was created")
			}
			links, err := store.ListUserFederatedIdentities(t.Context(), alice.ID)
			if err != nil || len(links) != 1 || links[0].ConnectorID != "corp" {
				t.Fatalf("links %v, %v; want one of corp", links, err)
			}
		})

		t.Run("wrong password, unknown user and injection look like a wrong local password", func(t *testing.T) {
			br := newBrowser(t, p.URL)
			f := fx.rp.start()
			page, body := br.visit(f.URL)
			attempt := func(username, pw string) (int, string) {
				t.Helper()
				page, body = br.submit(page, body, map[string]string{"username": username, "password": pw})
				return page.StatusCode, volatile.ReplaceAllString(strings.ReplaceAll(body, `value="`+username+`"`, ""), "")
			}
			wantStatus, local := attempt("dora", "not dora's password")
			if wantStatus != http.StatusUnauthorized || !strings.Contains(local, "Incorrect username or password.") {
				t.Fatalf("local wrong password: %d\n%s", wantStatus, local)
			}
			for _, tc := range []struct{ name, username, pw string }{
				{"wrong directory password", "alice", "not alice's password"},
				{"unknown username", "nobody-anywhere", "whatever password"},
				{"injection with alice's password", "*)(uid=*", "alice-password"},
				{"injection", "*)(uid=*", "x"},
				{"wildcard", "*", "alice-password"},
			} {
				status, got := attempt(tc.username, tc.pw)
				if status != wantStatus || got != local {
					t.Errorf("%s: %d, want %d and the same page as a wrong local password", tc.name, status, wantStatus)
				}
			}
			assertAudit(t, store, "directory: unknown user or wrong password")
			p.Clock.Advance(2 * time.Minute) // a fresh per-address window for the next subtests
		})

		t.Run("a local user with a local password is checked locally", func(t *testing.T) {
			p.addUser(t, "carol", "carol local password 1")
			_, resp, _ := fx.submit(t, newBrowser(t, p.URL), "carol", "carol-password") // the directory's
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("the directory's password for a local user: %d, want 401", resp.StatusCode)
			}
			tok := fx.signIn(t, newBrowser(t, p.URL), "carol", "carol local password 1")
			if got := claimStrings(tok.claims["groups"]); len(got) != 0 {
				t.Fatalf("groups %v for a local sign-in", got)
			}
		})

		t.Run("throttle", func(t *testing.T) {
			p.Clock.Advance(2 * time.Minute)
			br := newBrowser(t, p.URL)
			f := fx.rp.start()
			page, body := br.visit(f.URL)
			try := func(pw string) (*http.Response, string) {
				page, body = br.submit(page, body, map[string]string{"username": "bob", "password": pw})
				return page, body
			}
			free := web.DefaultThrottle.AccountAddress.Free
			for i := range free + 1 {
				if resp, _ := try("not bob's password"); resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("attempt %d: %d, want 401", i+1, resp.StatusCode)
				}
			}
			// Locked: the right password is refused with the same page,
			// and the directory is not asked (stopped, it would give
			// another page).
			fx.dir.Stop()
			resp, b := try("bob-password")
			fx.dir.Start()
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(b, "Incorrect username or password.") {
				t.Fatalf("right password while locked: %d\n%s", resp.StatusCode, b)
			}
			assertAudit(t, store, "throttled (account_address)")
			p.Clock.Advance(web.DefaultThrottle.AccountAddress.MaxDelay + time.Minute)
			resp, _ = try("bob-password")
			if _, err := fx.rp.exchange(fx.rp.callbackParams(resp, f, p.URL).Get("code"), f); err != nil {
				t.Fatalf("after the lock: %v", err)
			}
		})

		t.Run("the second factor still applies", func(t *testing.T) {
			p.Clock.Advance(2 * time.Minute)
			enrolling := newBrowser(t, p.URL)
			fx.signIn(t, enrolling, "alice", "alice-password") // a recent sign-in, by the directory
			secret, _ := enrolTOTP(t, p, enrolling)
			br := newBrowser(t, p.URL)
			f, page, body := fx.submit(t, br, "alice", "alice-password")
			if page.StatusCode != http.StatusOK || page.Request.URL.Path != "/login/factor" {
				t.Fatalf("want the second-factor page, got %d at %s", page.StatusCode, page.Request.URL)
			}
			resp, _ := br.submit(page, body, map[string]string{"code": totpCode(t, p, secret)})
			tok, err := fx.rp.exchange(fx.rp.callbackParams(resp, f, p.URL).Get("code"), f)
			if err != nil {
				t.Fatal(err)
			}
			if amr := claimStrings(tok.claims["amr"]); !slices.Equal(amr, []string{"mfa", "otp", "pwd"}) {
				t.Fatalf("amr %v, want pwd, otp, mfa", amr)
			}
		})

		t.Run("directory down", func(t *testing.T) {
			p.Clock.Advance(2 * time.Minute)
			before, err := store.ListUserSessions(t.Context(), alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			fx.dir.Stop()
			t.Cleanup(fx.dir.Start)
			for _, tc := range []struct{ lang, title, detail string }{
				{"en", "Directory unavailable", "did not answer"},
				{"ja", "ディレクトリに接続できません", "応答しなかった"},
			} {
				br := newBrowser(t, p.URL)
				_, resp, body := fx.submit(t, br, "alice", "alice-password", oauth2.SetAuthURLParam("ui_locales", tc.lang))
				if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, tc.title) || !strings.Contains(body, tc.detail) {
					t.Fatalf("%s: %d\n%s", tc.lang, resp.StatusCode, body)
				}
				if strings.Contains(body, "connector:") || strings.Contains(body, "ldap:") {
					t.Fatalf("Go error text on the page:\n%s", body)
				}
				for _, c := range br.client.Jar.Cookies(mustURL(p.URL)) {
					if strings.Contains(c.Name, "session") {
						t.Fatal("a session cookie was set")
					}
				}
			}
			after, err := store.ListUserSessions(t.Context(), alice.ID)
			if err != nil || len(after) != len(before) {
				t.Fatalf("sessions %d → %d (%v)", len(before), len(after), err)
			}
			assertAudit(t, store, "directory corp: upstream unavailable")
		})
	})
}

// TestLDAPWithoutJIT: with just-in-time creation off, a directory person
// nobody linked gets a refusal page and no account; one whose e-mail
// address belongs to a local account is asked for that account's
// password and is then linked to it, and from then on the directory
// decides that account's password.
func TestLDAPWithoutJIT(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		fx := newLDAPFixture(t, store, false)
		p := fx.p

		_, resp, body := fx.submit(t, newBrowser(t, p.URL), "carol", "carol-password")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "No account for this sign-in") {
			t.Fatalf("unknown person, no JIT: %d\n%s", resp.StatusCode, body)
		}
		if _, err := store.GetUserByUsername(t.Context(), "carol"); err == nil {
			t.Fatal("an account was created")
		}
		assertAudit(t, store, "just-in-time creation is off")

		ann := p.addUser(t, "ann", "ann local password 1")
		if _, err := store.UpdateUser(t.Context(), ann.ID, func(u *storage.User) error {
			u.Email = "alice@example.test" // the directory's address of alice
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		br := newBrowser(t, p.URL)
		f, page, body := fx.submit(t, br, "alice", "alice-password")
		if page.Request.URL.Path != "/connector/link" || !strings.Contains(body, "Corporate directory") {
			t.Fatalf("want the link page, got %d at %s\n%s", page.StatusCode, page.Request.URL, body)
		}
		resp, _ = br.submit(page, body, map[string]string{"username": "ann", "password": "ann local password 1"})
		tok, err := fx.rp.exchange(fx.rp.callbackParams(resp, f, p.URL).Get("code"), f)
		if err != nil {
			t.Fatal(err)
		}
		if tok.idToken.Subject != ann.ID || !slices.Equal(claimStrings(tok.claims["groups"]), []string{"admins", "devs"}) {
			t.Fatalf("sub %q groups %v, want ann with the directory's groups", tok.idToken.Subject, tok.claims["groups"])
		}
		// Linked now: alice's directory password signs in as ann at once.
		if tok := fx.signIn(t, newBrowser(t, p.URL), "alice", "alice-password"); tok.idToken.Subject != ann.ID {
			t.Fatalf("sub %q, want ann", tok.idToken.Subject)
		}
		// ann is linked to the directory, which now decides her password
		// (it knows no "ann"): the local one no longer signs in.
		if _, resp, _ := fx.submit(t, newBrowser(t, p.URL), "ann", "ann local password 1"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("ann's local password after linking: %d, want 401", resp.StatusCode)
		}
	})
}
