package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

// signedIn returns a browser signed in as alice and an authenticated
// request (scopes openid, profile, email, offline_access, custom:read).
func signedIn(t *testing.T, e *testEnv) (*http.Client, string) {
	t.Helper()
	c := e.browser()
	id := e.newRequest(func(r *storage.AuthRequest) {
		r.Scopes = []string{"openid", "profile", "email", "offline_access", "custom:read"}
	})
	if p := e.login(c, id, "alice", alicePassword); p.status != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", p.status, p.body)
	}
	return c, id
}

func TestConsentPage(t *testing.T) {
	e := newEnv(t, false)
	c, id := signedIn(t, e)
	got := e.get(c, e.h.ConsentURL(id))
	if got.status != http.StatusOK {
		t.Fatalf("status %d:\n%s", got.status, got.body)
	}
	for _, want := range []string{
		"Example App", "Alice (alice)", "Sign you in", "Your name", "Your email address",
		"Stay signed in to the app when you are away", "<code>custom:read</code>",
		`value="approve"`, `value="deny"`, `action="/consent"`,
	} {
		if !strings.Contains(got.body, want) {
			t.Errorf("consent page lacks %s", want)
		}
	}
	if csp := got.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example;") {
		t.Errorf("form-action does not allow the redirect origin: %s", csp)
	}
}

func TestConsentAnswer(t *testing.T) {
	tests := []struct {
		name        string
		action      string
		wantStatus  int
		wantGranted bool
		wantDenied  bool
		wantConsent bool
	}{
		{name: "approve", action: "approve", wantStatus: http.StatusSeeOther, wantGranted: true, wantConsent: true},
		{name: "deny", action: "deny", wantStatus: http.StatusSeeOther, wantDenied: true},
		{name: "unknown action", action: "maybe", wantStatus: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, false)
			c, id := signedIn(t, e)
			token := csrf(t, e.get(c, e.h.ConsentURL(id)))
			got := e.post(c, "/consent?return_to=https://evil.test", url.Values{"id": {id}, "csrf_token": {token}, "action": {tt.action}})
			if got.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d\n%s", got.status, tt.wantStatus, got.body)
			}
			if tt.wantStatus == http.StatusSeeOther {
				if want := callbackPath + "?id=" + id; got.header.Get("Location") != want {
					t.Errorf("Location = %q, want %q", got.header.Get("Location"), want)
				}
			}
			ar := e.authRequest(id)
			if ar.ConsentGranted != tt.wantGranted || ar.Denied != tt.wantDenied {
				t.Errorf("granted=%v denied=%v, want %v %v", ar.ConsentGranted, ar.Denied, tt.wantGranted, tt.wantDenied)
			}
			cons, err := e.store.GetConsent(context.Background(), "u-alice", "app")
			switch {
			case tt.wantConsent && err != nil:
				t.Errorf("consent not saved: %v", err)
			case tt.wantConsent && !cons.Covers(ar.Scopes):
				t.Errorf("saved consent %v does not cover %v", cons.Scopes, ar.Scopes)
			case !tt.wantConsent && !errors.Is(err, storage.ErrNotFound):
				t.Errorf("consent saved: %+v, %v", cons, err)
			}
		})
	}
}

func TestConsentRefused(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(t *testing.T, e *testEnv) (*http.Client, string)
		wantStatus int
	}{
		{
			name: "request not authenticated",
			setup: func(t *testing.T, e *testEnv) (*http.Client, string) {
				c, _ := signedIn(t, e)
				return c, e.newRequest()
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "browser without session",
			setup: func(t *testing.T, e *testEnv) (*http.Client, string) {
				_, id := signedIn(t, e)
				return e.browser(), id
			},
			wantStatus: http.StatusForbidden,
		},
		{
			name: "another browser's session",
			setup: func(t *testing.T, e *testEnv) (*http.Client, string) {
				_, id := signedIn(t, e)
				other, _ := signedIn(t, e)
				return other, id
			},
			wantStatus: http.StatusForbidden,
		},
		{
			name: "session signed out",
			setup: func(t *testing.T, e *testEnv) (*http.Client, string) {
				c, id := signedIn(t, e)
				e.must(e.store.RevokeSession(context.Background(), e.authRequest(id).SessionID, e.clock.Now()))
				return c, id
			},
			wantStatus: http.StatusForbidden,
		},
		{
			name: "unknown request",
			setup: func(t *testing.T, e *testEnv) (*http.Client, string) {
				c, _ := signedIn(t, e)
				return c, storage.NewID()
			},
			wantStatus: http.StatusBadRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, false)
			c, id := tt.setup(t, e)
			if got := e.get(c, e.h.ConsentURL(id)); got.status != tt.wantStatus || !strings.Contains(got.body, "Go back to the application") {
				t.Errorf("GET: status %d, want %d\n%s", got.status, tt.wantStatus, got.body)
			}
			// A valid CSRF token of this browser does not help.
			token := csrf(t, e.get(c, e.h.SignInURL(e.newRequest())))
			got := e.post(c, "/consent", url.Values{"id": {id}, "csrf_token": {token}, "action": {"approve"}})
			if got.status != tt.wantStatus {
				t.Errorf("POST: status %d, want %d", got.status, tt.wantStatus)
			}
			if _, err := e.store.GetConsent(context.Background(), "u-alice", "app"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("consent saved: %v", err)
			}
		})
	}
}

func TestConsentCSRF(t *testing.T) {
	tests := []struct {
		name  string
		token string
		hdr   []string
	}{
		{name: "missing token", token: ""},
		{name: "wrong token", token: "x"},
		{name: "cross-site", token: "good", hdr: []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, true)
			c, id := signedIn(t, e)
			token := tt.token
			if token == "good" {
				token = csrf(t, e.get(c, e.h.ConsentURL(id)))
			}
			got := e.post(c, "/consent", url.Values{"id": {id}, "csrf_token": {token}, "action": {"approve"}}, tt.hdr...)
			if got.status != http.StatusForbidden {
				t.Fatalf("status = %d, want 403", got.status)
			}
			if ar := e.authRequest(id); ar.ConsentGranted || ar.Denied {
				t.Error("consent recorded despite the CSRF failure")
			}
			if _, err := e.store.GetConsent(context.Background(), "u-alice", "app"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("consent saved: %v", err)
			}
		})
	}
}
