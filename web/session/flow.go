package session

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/acr"
	"github.com/monban-idp/monban/storage/pending"
)

// Step is one stage of a sign-in between the authorization endpoint and
// its callback: identifying the person (a username, an upstream identity
// provider) or authenticating them with a factor (password, TOTP,
// WebAuthn). A step is a page of its own; when it has done its part it
// updates the Progress and calls Flow.Advance, which sends the browser to
// the next step that is not done, or completes the sign-in.
type Step interface {
	// Name identifies the step in logs, e.g. "password".
	Name() string
	// URL is the step's page for the authorization request.
	URL(authRequestID string) string
	// Done reports whether the step has nothing left to do for p (for a
	// factor: it passed, or this user does not use it).
	Done(ctx context.Context, p *Progress) (bool, error)
}

// Progress is what the steps of one sign-in established so far. Between
// steps it is kept in a short-lived cookie signed with the flow's key and
// bound to the authorization request: the cookie holds a digest of
// RequestID, which may be a sealed request of several KiB (package
// storage/pending), too long for a cookie.
type Progress struct {
	RequestID string   `json:"-"`
	Binding   string   `json:"r"` // requestBinding(RequestID), set by save
	UserID    string   `json:"u,omitempty"`
	AMR       []string `json:"a,omitempty"` // methods passed (RFC 8176)
	// AuthTime is the auth_time a step-up keeps (StepUp): the session's,
	// not the time the missing factor was added; zero for a new sign-in.
	AuthTime time.Time `json:"t,omitzero"`
	Expires  time.Time `json:"e"`
}

// requestBinding is the digest of an authorization request id that binds
// a progress cookie to it.
func requestBinding(authRequestID string) string {
	sum := sha256.Sum256([]byte(authRequestID))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// Identify records who is signing in. Naming another user than an earlier
// step did starts the authentication over.
func (p *Progress) Identify(userID string) {
	if p.UserID != userID {
		p.UserID, p.AMR, p.AuthTime = userID, nil, time.Time{}
	}
}

// Passed records that the identified user passed an authentication
// method (RFC 8176 value, e.g. "pwd").
func (p *Progress) Passed(method string) {
	if !slices.Contains(p.AMR, method) {
		p.AMR = append(p.AMR, method)
	}
}

// Has reports whether method was passed.
func (p *Progress) Has(method string) bool { return slices.Contains(p.AMR, method) }

// DefaultProgressTTL bounds the time between two steps of one sign-in.
const DefaultProgressTTL = 10 * time.Minute

// progressBase is the progress cookie's name without the __Host- prefix.
const progressBase = "monban_flow"

// progressLabel separates the progress MAC from other uses of the key.
const progressLabel = "monban flow v1\x00"

// FlowConfig configures a Flow. Sessions, Steps, Callback and Key are
// required.
type FlowConfig struct {
	Sessions *Manager
	// Steps run in order; the first is where a sign-in starts.
	Steps []Step
	// Callback is where a completed sign-in continues: the provider's
	// authorization callback, which decides about consent and answers the
	// application.
	Callback func(authRequestID string) string
	// Key signs the progress cookie (at least 32 bytes, the same on every
	// replica).
	Key []byte
	// ProgressTTL bounds the time between two steps; zero means
	// DefaultProgressTTL.
	ProgressTTL time.Duration
	// Pending opens sealed authorization requests (see Advance); nil:
	// only stored requests can complete.
	Pending *pending.Sealer
	// ClientAddr is the client address a new session records (see
	// Authentication.Address); nil: the host of the request's RemoteAddr.
	ClientAddr func(*http.Request) string
}

// Flow is the sign-in as an explicit sequence: identify, authenticate
// with one or more factors (the Steps), then back to the provider's
// callback, which asks for consent when needed and answers the
// application. Adding a factor or an upstream identity provider is adding
// a Step; the protocol code only knows Start.
type Flow struct {
	m        *Manager
	steps    []Step
	callback func(string) string
	key      []byte
	ttl      time.Duration
	cookie   string
	pending  *pending.Sealer
	addr     func(*http.Request) string
}

// NewFlow checks cfg and returns a Flow.
func NewFlow(cfg FlowConfig) (*Flow, error) {
	var errs []error
	if cfg.Sessions == nil || cfg.Callback == nil || len(cfg.Steps) == 0 {
		errs = append(errs, errors.New("session: a flow needs Sessions, Callback and at least one Step"))
	}
	if len(cfg.Key) < 32 {
		errs = append(errs, errors.New("session: a flow's Key must be at least 32 bytes"))
	}
	if cfg.ProgressTTL < 0 {
		errs = append(errs, errors.New("session: ProgressTTL must not be negative"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	f := &Flow{m: cfg.Sessions, steps: slices.Clone(cfg.Steps), callback: cfg.Callback,
		key: slices.Clone(cfg.Key), ttl: cfg.ProgressTTL, cookie: progressBase, pending: cfg.Pending,
		addr: cfg.ClientAddr}
	if f.addr == nil {
		f.addr = remoteHost
	}
	if f.ttl == 0 {
		f.ttl = DefaultProgressTTL
	}
	if cfg.Sessions.secure {
		f.cookie = "__Host-" + progressBase
	}
	return f, nil
}

// Start is the first step's page for a new authorization request: where
// the provider sends a browser that must sign in.
func (f *Flow) Start(authRequestID string) string { return f.steps[0].URL(authRequestID) }

// Resume returns the progress the browser carries for the authorization
// request: what earlier steps established, or nothing yet when the cookie
// is absent, forged, expired or for another request.
func (f *Flow) Resume(r *http.Request, authRequestID string) *Progress {
	fresh := &Progress{RequestID: authRequestID}
	c, err := r.Cookie(f.cookie)
	if err != nil {
		return fresh
	}
	p, ok := f.open(c.Value)
	if !ok || !hmac.Equal([]byte(p.Binding), []byte(requestBinding(authRequestID))) || !f.m.now().Before(p.Expires) {
		return fresh
	}
	p.RequestID = authRequestID
	return p
}

// Advance moves the sign-in on after a step updated p. While a step is
// not done, it saves p for that step and returns its page. When every
// step is done, it completes the sign-in: the session is started or
// renewed (Manager.SignIn), the authorization request is bound to it, and
// the returned page is the provider's callback; sess is then not nil. An
// error wrapping storage.ErrNotFound or storage.ErrConflict means the
// authorization request expired or was completed meanwhile.
//
// A sealed request (package storage/pending) is stored only here, for the
// first time, bound to the session (one write), under the id it was
// given at the authorization endpoint; the callback gets that id. So a
// sealed value completes at most one stored request while that request
// lives: a second sign-in with it finds the id taken (ErrConflict).
func (f *Flow) Advance(ctx context.Context, w http.ResponseWriter, r *http.Request, p *Progress) (next string, sess *storage.Session, err error) {
	for _, s := range f.steps {
		done, err := s.Done(ctx, p)
		if err != nil {
			return "", nil, fmt.Errorf("session: step %s: %w", s.Name(), err)
		}
		if !done {
			f.save(w, p)
			return s.URL(p.RequestID), nil, nil
		}
	}
	if p.UserID == "" || len(p.AMR) == 0 {
		return "", nil, errors.New("session: every step is done but nobody was authenticated")
	}
	f.clear(w, r)
	sess, err = f.m.SignIn(ctx, w, r, Authentication{UserID: p.UserID, AMR: acr.WithMulti(p.AMR), AuthTime: p.AuthTime,
		Address: f.addr(r), UserAgent: r.UserAgent()})
	if err != nil {
		return "", nil, err
	}
	stored, err := f.bind(ctx, p.RequestID, sess)
	if err != nil {
		return "", nil, err
	}
	return f.callback(stored), sess, nil
}

// bind binds the authorization request to the new session and returns its
// stored id: a stored request is updated, a sealed one stored.
func (f *Flow) bind(ctx context.Context, authRequestID string, sess *storage.Session) (string, error) {
	res := storage.AuthResult{UserID: sess.UserID, SessionID: sess.ID, AuthTime: sess.AuthTime, AMR: sess.AMR}
	if !pending.IsSealed(authRequestID) {
		if err := f.m.store.AuthenticateAuthRequest(ctx, authRequestID, res); err != nil {
			return "", fmt.Errorf("session: authenticate auth request: %w", err)
		}
		return authRequestID, nil
	}
	if f.pending == nil {
		return "", fmt.Errorf("session: a sealed auth request but no sealer: %w", storage.ErrNotFound)
	}
	req, err := f.pending.Open(authRequestID) // expired meanwhile: as a stored request the janitor deleted
	if err != nil {
		return "", fmt.Errorf("session: open sealed auth request: %w: %w", storage.ErrNotFound, err)
	}
	req.UserID, req.SessionID, req.AuthTime, req.AMR = res.UserID, res.SessionID, res.AuthTime, slices.Clone(res.AMR)
	err = f.m.store.CreateAuthRequest(ctx, req)
	if errors.Is(err, storage.ErrAlreadyExists) { // this sealed value was used already
		return "", fmt.Errorf("session: store sealed auth request %s: %w: %w", req.ID, storage.ErrConflict, err)
	}
	if err != nil {
		return "", fmt.Errorf("session: store sealed auth request: %w", err)
	}
	return req.ID, nil
}

// save sets the progress cookie (HttpOnly, SameSite=Lax, Path=/, Secure
// and __Host- on https), valid for the progress TTL.
func (f *Flow) save(w http.ResponseWriter, p *Progress) {
	p.Expires = f.m.now().UTC().Add(f.ttl)
	p.Binding = requestBinding(p.RequestID)
	body, _ := json.Marshal(p)
	v := base64.RawURLEncoding.EncodeToString(body)
	http.SetCookie(w, &http.Cookie{Name: f.cookie, Value: v + "." + f.mac(v), Path: "/",
		MaxAge: int(f.ttl / time.Second), Secure: f.m.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// clear deletes the progress cookie if the browser has one.
func (f *Flow) clear(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(f.cookie); err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: f.cookie, Path: "/", MaxAge: -1, Secure: f.m.secure,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// open checks the MAC of a progress cookie value and decodes it.
func (f *Flow) open(value string) (*Progress, bool) {
	v, mac, ok := strings.Cut(value, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(f.mac(v))) {
		return nil, false
	}
	body, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil, false
	}
	var p Progress
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, false
	}
	return &p, true
}

func (f *Flow) mac(v string) string {
	m := hmac.New(sha256.New, f.key)
	m.Write([]byte(progressLabel))
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
