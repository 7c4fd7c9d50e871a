package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/storagetest"
	"github.com/monban-idp/monban/web/i18n"
)

// clock is the shared settable test clock.
type clock = storagetest.Clock

const (
	alicePassword = "correct horse battery staple"
	appRedirect   = "https://app.example/cb"
	callbackPath  = "/authorize/callback"
)

// fakeHasher stands in for argon2id: a hash is "plain:" or "old:" (needs
// rehash) followed by the password. It counts calls.
type fakeHasher struct {
	verify, dummy, hash atomic.Int32
}

func (f *fakeHasher) Verify(password, phc string) (bool, bool, error) {
	f.verify.Add(1)
	switch {
	case phc == "plain:"+password:
		return true, false, nil
	case phc == "old:"+password:
		return true, true, nil
	case strings.HasPrefix(phc, "plain:"), strings.HasPrefix(phc, "old:"):
		return false, false, nil
	}
	return false, false, errors.New("fake hasher: malformed hash")
}

func (f *fakeHasher) VerifyDummy(string) { f.dummy.Add(1) }

func (f *fakeHasher) Hash(password string) (string, error) {
	f.hash.Add(1)
	return "plain:" + password, nil
}

func (f *fakeHasher) calls() int32 { return f.verify.Load() + f.dummy.Load() + f.hash.Load() }

// testEnv is a running handler over the memory store.
type testEnv struct {
	t         *testing.T
	store     storage.Store
	hasher    PasswordHasher
	fake      *fakeHasher // nil when a real hasher is used
	clock     *clock
	h         *Handler
	srv       *httptest.Server
	callbacks atomic.Int32
	// onCallback, when set, answers the callback instead of a plain page.
	onCallback http.HandlerFunc
}

type envOption func(*Config)

// memoryStore returns a fresh memory store.
func memoryStore() storage.Store { return memory.New() }

func newEnv(t *testing.T, tls bool, opts ...envOption) *testEnv {
	t.Helper()
	e := &testEnv{t: t, store: memoryStore(), clock: storagetest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))}
	e.fake = &fakeHasher{}
	e.hasher = e.fake
	mux := http.NewServeMux()
	if tls {
		e.srv = httptest.NewUnstartedServer(mux)
		e.srv.StartTLS()
	} else {
		e.srv = httptest.NewServer(mux)
	}
	t.Cleanup(e.srv.Close)
	cfg := Config{
		Store:       e.store,
		Hasher:      e.hasher,
		Issuer:      e.srv.URL,
		CallbackURL: func(id string) string { return callbackPath + "?id=" + url.QueryEscape(id) },
		Now:         e.clock.Now,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		FactorKeys:  keys.RandomKeyEncryptionKeys(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	if st, ok := cfg.Store.(storage.Store); ok { // an option may wrap the store
		e.store = st
	}
	if f, ok := cfg.Hasher.(*fakeHasher); ok {
		e.fake = f
	} else {
		e.fake = nil
	}
	e.hasher = cfg.Hasher
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.h = h
	h.Routes(mux)
	mux.HandleFunc("GET "+callbackPath, func(w http.ResponseWriter, r *http.Request) {
		e.callbacks.Add(1)
		if e.onCallback != nil {
			e.onCallback(w, r)
			return
		}
		io.WriteString(w, "callback reached")
	})
	ctx := context.Background()
	now := e.clock.Now()
	e.must(e.store.CreateClient(ctx, &storage.Client{
		ID: "app", Name: "Example App", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
		RedirectURIs: []string{appRedirect}, GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid", "profile", "email"}, CreatedAt: now, UpdatedAt: now,
	}))
	e.addUser("u-alice", "alice", "plain:"+alicePassword, false)
	return e
}

func (e *testEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) addUser(id, username, hash string, disabled bool) {
	e.t.Helper()
	now := e.clock.Now()
	e.must(e.store.CreateUser(context.Background(), &storage.User{
		ID: id, Username: username, Name: strings.ToUpper(username[:1]) + username[1:], PasswordHash: hash,
		Disabled: disabled, CreatedAt: now, UpdatedAt: now,
	}))
}

// newRequest stores a pending authorization request and returns its ID.
func (e *testEnv) newRequest(mod ...func(*storage.AuthRequest)) string {
	e.t.Helper()
	now := e.clock.Now()
	r := &storage.AuthRequest{
		ID: storage.NewID(), ClientID: "app", RedirectURI: appRedirect,
		Scopes: []string{"openid", "profile"}, State: "st", CodeChallenge: "x", CodeChallengeMethod: "S256",
		CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute),
	}
	for _, m := range mod {
		m(r)
	}
	e.must(e.store.CreateAuthRequest(context.Background(), r))
	return r.ID
}

func (e *testEnv) authRequest(id string) *storage.AuthRequest {
	e.t.Helper()
	r, err := e.store.GetAuthRequest(context.Background(), id)
	e.must(err)
	return r
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see every 303.
func (e *testEnv) browser() *http.Client {
	e.t.Helper()
	jar, err := cookiejar.New(nil)
	e.must(err)
	c := e.srv.Client()
	return &http.Client{
		Transport:     c.Transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type page struct {
	status int
	header http.Header
	body   string
	resp   *http.Response
}

func (e *testEnv) get(c *http.Client, path string) page {
	e.t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	e.must(err)
	return readPage(e.t, resp)
}

// post sends a same-origin form, as a browser would.
func (e *testEnv) post(c *http.Client, path string, form url.Values, hdr ...string) page {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	e.must(err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", e.srv.URL)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := c.Do(req)
	e.must(err)
	return readPage(e.t, resp)
}

func readPage(t *testing.T, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(b), resp: resp}
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf extracts the CSRF token from a rendered form.
func csrf(t *testing.T, p page) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no csrf_token in page (status %d):\n%s", p.status, p.body)
	}
	return m[1]
}

// login opens the sign-in page for id and posts the credentials.
func (e *testEnv) login(c *http.Client, id, username, password string) page {
	e.t.Helper()
	form := e.get(c, e.h.SignInURL(id))
	if form.status != http.StatusOK {
		e.t.Fatalf("GET login: status %d:\n%s", form.status, form.body)
	}
	return e.post(c, "/login", url.Values{
		"id": {id}, "csrf_token": {csrf(e.t, form)}, "username": {username}, "password": {password},
	})
}

// sessionCookie returns the session cookie the jar would send, or "".
func (e *testEnv) sessionCookie(c *http.Client) string {
	u, _ := url.Parse(e.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == e.h.sessions.CookieName() {
			return ck.Value
		}
	}
	return ""
}

// setCookie plants a cookie in the browser's jar.
func (e *testEnv) setCookie(c *http.Client, name, value string) {
	u, _ := url.Parse(e.srv.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// deleteCookie removes a cookie from the browser's jar.
func (e *testEnv) deleteCookie(c *http.Client, name string) {
	u, _ := url.Parse(e.srv.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Path: "/", MaxAge: -1}})
}

// requestFor builds a request carrying the browser's cookies, for calling
// CurrentSession directly.
func (e *testEnv) requestFor(c *http.Client) *http.Request {
	r := httptest.NewRequest(http.MethodGet, e.srv.URL+"/authorize", nil)
	for _, ck := range c.Jar.Cookies(r.URL) {
		r.AddCookie(ck)
	}
	return r
}

func (e *testEnv) userSessions(userID string) []*storage.Session {
	e.t.Helper()
	ss, err := e.store.ListUserSessions(context.Background(), userID)
	e.must(err)
	return ss
}

// en is the English text of a catalog key, for tests that look for a
// page's words.
func en(key string) string {
	m, ok := i18n.Catalogs().Message("en", key)
	if !ok {
		panic("no catalog key " + key)
	}
	return m
}
