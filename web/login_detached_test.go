package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

// disconnectingHasher is the fake hasher, except that checking a password
// first cancels the request's context: the browser went away while the
// slow hash ran.
type disconnectingHasher struct {
	*fakeHasher
	disconnect context.CancelFunc
}

func (d *disconnectingHasher) Verify(password, phc string) (bool, bool, error) {
	d.disconnect()
	return d.fakeHasher.Verify(password, phc)
}

// cancelAwareStore fails the writes that follow a password check when
// their context is done, as PostgreSQL does; the memory store ignores
// contexts.
type cancelAwareStore struct{ storage.Store }

func (s cancelAwareStore) ClearLoginFailures(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Store.ClearLoginFailures(ctx, key)
}

func (s cancelAwareStore) SetPasswordHash(ctx context.Context, id, oldHash, newHash string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Store.SetPasswordHash(ctx, id, oldHash, newHash)
}

func (s cancelAwareStore) CreateSession(ctx context.Context, sess *storage.Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Store.CreateSession(ctx, sess)
}

func (s cancelAwareStore) AuthenticateAuthRequest(ctx context.Context, id string, res storage.AuthResult) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Store.AuthenticateAuthRequest(ctx, id, res)
}

func (s cancelAwareStore) AppendAudit(ctx context.Context, e *storage.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Store.AppendAudit(ctx, e)
}

// TestChecklistH13BookkeepingOutlivesDisconnect: a client that disconnects
// after a successful password check still gets its failure counters
// cleared, its outdated hash replaced, its session and its audit entry
// (issue #13 item 13); before, they were written with the cancelled
// request context and failed with "context canceled".
func TestChecklistH13BookkeepingOutlivesDisconnect(t *testing.T) {
	hasher := &disconnectingHasher{fakeHasher: &fakeHasher{}}
	e := newEnv(t, false, func(c *Config) {
		c.Hasher = hasher
		c.Store = cancelAwareStore{memoryStore()}
	})
	e.addUser("u-bob", "bob", "old:"+alicePassword, false) // needs a rehash
	c := e.browser()
	id, token := e.loginForm(c)
	// Two wrong passwords leave counters behind that a success clears.
	hasher.disconnect = func() {}
	for range 2 {
		e.attemptFrom(c, id, token, "", "bob", "wrong password, long enough")
	}
	ctx := context.Background()
	for _, key := range []string{"user:bob", "user-ip:127.0.0.1 bob"} {
		if _, err := e.store.GetLoginThrottle(ctx, key); err != nil {
			t.Fatalf("no failure counter %s before the sign-in: %v", key, err)
		}
	}

	form := url.Values{"id": {id}, "csrf_token": {token}, "username": {"bob"}, "password": {alicePassword}}
	reqCtx, cancel := context.WithCancel(ctx)
	hasher.disconnect = cancel
	req := httptest.NewRequest(http.MethodPost, e.srv.URL+"/login", strings.NewReader(form.Encode())).WithContext(reqCtx)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = "127.0.0.1:40000" // the address of the failed attempts
	for _, ck := range c.Jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	e.srv.Config.Handler.ServeHTTP(rec, req)
	if reqCtx.Err() == nil {
		t.Fatal("the request context was not cancelled during the password check")
	}

	for _, key := range []string{"user:bob", "user-ip:127.0.0.1 bob"} {
		if _, err := e.store.GetLoginThrottle(ctx, key); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("counter %s not cleared after a disconnect: %v", key, err)
		}
	}
	if u, err := e.store.GetUser(ctx, "u-bob"); err != nil || !strings.HasPrefix(u.PasswordHash, "plain:") {
		t.Errorf("outdated hash not replaced after a disconnect: %v", err)
	}
	if len(e.userSessions("u-bob")) != 1 {
		t.Errorf("no session recorded for the completed sign-in")
	}
	entries, err := e.store.ListAudit(ctx, storage.AuditFilter{Actions: []string{storage.ActionSignIn}, Actor: "bob"}, 0, 10)
	if err != nil || len(entries) != 1 {
		t.Errorf("sign-in audit entries %d (%v), want 1", len(entries), err)
	}
}
