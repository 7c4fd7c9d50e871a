package main

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/connector"
)

// fedBrowser is a cookie-keeping client that follows redirects between
// the two providers (monban and its upstream monban) and stops at any
// other host (the apps); it counts the requests each host received.
type fedBrowser struct {
	t      *testing.T
	client *http.Client
	mu     sync.Mutex
	hits   map[string]int // host → requests
	urls   []string       // every URL requested, in order
}

func newFedBrowser(t *testing.T, hosts ...string) *fedBrowser {
	jar, _ := cookiejar.New(nil)
	b := &fedBrowser{t: t, hits: map[string]int{}}
	b.client = &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			b.mu.Lock()
			b.hits[r.URL.Host]++
			b.urls = append(b.urls, r.URL.String())
			b.mu.Unlock()
			return http.DefaultTransport.RoundTrip(r)
		}),
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if !slices.Contains(hosts, req.URL.Host) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	return b
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (b *fedBrowser) get(u string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.client.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *fedBrowser) submit(page *http.Response, body string, values map[string]string) (*http.Response, string) {
	b.t.Helper()
	action, fields := parseForm(b.t, body)
	for k, v := range values {
		fields.Set(k, v)
	}
	a, _ := url.Parse(action)
	resp, err := b.client.PostForm(page.Request.URL.ResolveReference(a).String(), fields)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

var connectorLink = regexp.MustCompile(`href="(/connector/up/start\?id=[^"]+)"`)

// federation is a monban whose connector "up" is a second monban.
type federation struct {
	up, down   *testProvider
	upSecret   string
	downListen net.Listener
}

// newFederation starts the upstream monban (a user ursula in group eng,
// a client for the downstream's callback) and the downstream monban with
// the connector; cfg may change the connector.
func newFederation(t *testing.T, cfg func(*connector.Config), opts ...serverOption) *federation {
	t.Helper()
	// The upstream answers as localhost, the downstream as 127.0.0.1:
	// cookies ignore ports, and two monbans on one host name would share
	// the session cookie's name.
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(upLn.Addr().String())
	up := newTestServer(t, withListener(upLn), withIssuer("http://localhost:"+port))
	u := up.addUser(t, "ursula", "upstream password 1")
	now := up.Clock.Now()
	g := &storage.Group{ID: storage.NewID(), Name: "eng", CreatedAt: now, UpdatedAt: now}
	if err := up.Store.CreateGroup(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if err := up.Store.AddGroupMember(t.Context(), g.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + ln.Addr().String()
	secret := up.addClient(t, storage.Client{ID: "downstream", Name: "Downstream monban",
		RedirectURIs: []string{downURL + "/connector/up/callback"},
		Scopes:       []string{"openid", "profile", "email", "groups"}})
	c := connector.Config{ID: "up", Type: connector.TypeOIDC, Name: connector.Names{"": "Upstream"},
		ClientID: "downstream", ClientSecret: secret, Issuer: up.URL,
		Scopes: []string{"openid", "profile", "email", "groups"}, Claims: connector.ClaimMapping{Groups: "groups"},
		JIT: true, TrustAMR: true, Timeout: 5 * time.Second}
	if cfg != nil {
		cfg(&c)
	}
	down := newTestServer(t, append([]serverOption{withListener(ln), withIssuer(downURL),
		withConfig(func(ac *app.Config) { ac.Connectors = []connector.Config{c} })}, opts...)...)
	return &federation{up: up, down: down, upSecret: secret}
}

func host(u string) string { p, _ := url.Parse(u); return p.Host }

// TestUpstreamOIDCEndToEnd: a person signs in to an app through monban
// with a second monban as the upstream: the app gets a code, the ID
// token is monban's (its issuer) with the groups the upstream named and
// amr fed; a second app then gets single sign-on without the upstream.
func TestUpstreamOIDCEndToEnd(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) { upstreamEndToEnd(t, store) })
}

func upstreamEndToEnd(t *testing.T, store storage.Store) {
	f := newFederation(t, nil, withStore(store))
	groups := []string{"openid", "profile", "email", "groups"}
	s1 := f.down.addClient(t, storage.Client{ID: "app1", RedirectURIs: []string{"http://app1.example/cb"}, Scopes: groups})
	s2 := f.down.addClient(t, storage.Client{ID: "app2", RedirectURIs: []string{"http://app2.example/cb"}, Scopes: groups})
	rp1 := newRP(t, f.down.URL, "app1", s1, "http://app1.example/cb", groups...)
	rp2 := newRP(t, f.down.URL, "app2", s2, "http://app2.example/cb", groups...)
	b := newFedBrowser(t, host(f.down.URL), host(f.up.URL))

	fl := rp1.start()
	page, body := b.get(fl.URL)
	m := connectorLink.FindStringSubmatch(body)
	if page.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("sign-in page without the upstream button: %d\n%s", page.StatusCode, body)
	}
	page, body = b.get(f.down.URL + strings.ReplaceAll(m[1], "&amp;", "&"))
	if page.Request.URL.Host != host(f.up.URL) || !strings.Contains(body, `name="password"`) {
		t.Fatalf("not at the upstream's sign-in: %s\n%s", page.Request.URL, body)
	}
	resp, _ := b.submit(page, body, map[string]string{"username": "ursula", "password": "upstream password 1"})
	q := rp1.callbackParams(resp, fl, f.down.URL)
	tok, err := rp1.exchange(q.Get("code"), fl)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.idToken.Issuer != f.down.URL {
		t.Fatalf("iss %q, want monban's %q", tok.idToken.Issuer, f.down.URL)
	}
	if gs, _ := tok.claims["groups"].([]any); len(gs) != 1 || gs[0] != "eng" {
		t.Fatalf("groups claim %v, want [eng] from the upstream", tok.claims["groups"])
	}
	if amr, _ := tok.claims["amr"].([]any); !slices.Contains(amr, any("fed")) {
		t.Fatalf("amr %v, want fed", tok.claims["amr"])
	}
	local, err := f.down.Store.GetUserByUsername(t.Context(), "ursula")
	if err != nil || local.PasswordHash != "" || local.Email != "ursula@example.com" || !local.EmailVerified {
		t.Fatalf("JIT user %+v, %v", local, err)
	}
	if tok.idToken.Subject != local.ID {
		t.Fatalf("sub %q is not the local user %q", tok.idToken.Subject, local.ID)
	}

	// The second app: single sign-on, the upstream is not asked again.
	upHits := b.hits[host(f.up.URL)]
	fl2 := rp2.start()
	resp, _ = b.get(fl2.URL)
	q = rp2.callbackParams(resp, fl2, f.down.URL)
	if _, err := rp2.exchange(q.Get("code"), fl2); err != nil {
		t.Fatalf("second app: %v", err)
	}
	if b.hits[host(f.up.URL)] != upHits {
		t.Fatal("the second app's sign-in went to the upstream")
	}

	// The callback replayed in the same browser: refused, no new session.
	var callback string
	for _, u := range b.urls {
		if strings.Contains(u, "/connector/up/callback") {
			callback = u
		}
	}
	before, _ := f.down.Store.ListUserSessions(t.Context(), local.ID)
	resp, body = b.get(callback)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Sign-in could not be completed") {
		t.Fatalf("replayed callback: %d\n%s", resp.StatusCode, body)
	}
	after, _ := f.down.Store.ListUserSessions(t.Context(), local.ID)
	if len(after) != len(before) {
		t.Fatalf("a replayed callback made a session: %d → %d", len(before), len(after))
	}
	assertAudit(t, f.down.Store, "missing, replayed or wrong state")
}

func assertAudit(t *testing.T, st storage.Store, detail string) {
	t.Helper()
	list, err := st.ListAudit(t.Context(), storage.AuditFilter{Actions: []string{storage.ActionSignInFailed}}, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		if strings.Contains(e.Detail, detail) {
			return
		}
	}
	t.Fatalf("no audit entry with %q in %d entries", detail, len(list))
}

// TestUpstreamOIDCRefusals: a bad state, a token the downstream cannot
// accept (the connector's client_id is not the audience the upstream
// issues for: a tampered configuration), and an upstream that is down
// each give a clear page, an audit entry, no account and no session.
func TestUpstreamOIDCRefusals(t *testing.T) {
	tests := []struct {
		name       string
		cfg        func(*connector.Config)
		tamper     func(callback string) string
		wantStatus int
		wantText   string
		wantAudit  string
	}{
		{name: "bad state", tamper: func(cb string) string { return strings.Replace(cb, "state=", "state=forged", 1) },
			wantStatus: http.StatusBadRequest, wantText: "Sign-in could not be completed", wantAudit: "wrong state"},
		{name: "upstream down", cfg: func(c *connector.Config) { c.Issuer = "http://127.0.0.1:1" },
			wantStatus: http.StatusServiceUnavailable, wantText: "Sign-in provider unavailable", wantAudit: "upstream unreachable"},
		{name: "issuer that is not the upstream's", cfg: func(c *connector.Config) { c.Issuer += "/" },
			wantStatus: http.StatusServiceUnavailable, wantText: "Sign-in provider unavailable", wantAudit: "upstream unreachable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFederation(t, tc.cfg)
			s1 := f.down.addClient(t, storage.Client{ID: "app1", RedirectURIs: []string{"http://app1.example/cb"}})
			rp1 := newRP(t, f.down.URL, "app1", s1, "http://app1.example/cb")
			b := newFedBrowser(t, host(f.down.URL), host(f.up.URL))
			_, body := b.get(rp1.start().URL)
			m := connectorLink.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no button:\n%s", body)
			}
			start := f.down.URL + strings.ReplaceAll(m[1], "&amp;", "&")
			var resp *http.Response
			if tc.tamper == nil {
				resp, body = b.get(start)
			} else {
				// Stop at the downstream's callback to tamper with it.
				b.client.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
					if strings.HasPrefix(req.URL.Path, "/connector/") || req.URL.Host != host(f.down.URL) && req.URL.Host != host(f.up.URL) {
						return http.ErrUseLastResponse
					}
					return nil
				}
				page, pb := b.get(start)
				r, _ := b.submit(page, pb, map[string]string{"username": "ursula", "password": "upstream password 1"})
				resp, body = b.get(tc.tamper(r.Header.Get("Location")))
			}
			if resp.StatusCode != tc.wantStatus || !strings.Contains(body, tc.wantText) {
				t.Fatalf("%d, want %d with %q\n%s", resp.StatusCode, tc.wantStatus, tc.wantText, body)
			}
			if strings.Contains(body, "connector:") || strings.Contains(body, "oidc:") {
				t.Fatalf("Go error text on the page:\n%s", body)
			}
			assertAudit(t, f.down.Store, tc.wantAudit)
			if _, err := f.down.Store.GetUserByUsername(t.Context(), "ursula"); err == nil {
				t.Fatal("an account was created")
			}
			for _, c := range b.client.Jar.Cookies(mustURL(f.down.URL)) {
				if strings.Contains(c.Name, "session") {
					t.Fatal("a session cookie was set")
				}
			}
		})
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }
