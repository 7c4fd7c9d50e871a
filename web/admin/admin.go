// Package admin serves the admin console at /admin: templ pages, in the
// same binary, that work without JavaScript.
//
// Access. The console is a first-party client of the provider itself. It
// reads the browser's single sign-on session through web.Handler's
// Sessions (package web/session); without one it sends the browser through the ordinary
// authorization-code flow of an internal client, ClientID ("monban-admin",
// public, redirect URI <issuer>/admin/callback, no consent), which the
// console registers on first use if it is absent. So sign-in reuses the
// existing /authorize → /login pages and their session cookie, and
// package op never imports the console. The authorization code that comes
// back to /admin/callback is not redeemed: the console needs the session,
// not tokens, and the unused code expires. A signed-in user who is not an
// administrator (storage.User.Admin) gets 403. Sensitive actions (secret
// rotation, deleting a client, changing a client's redirect, post-logout
// or back-channel logout URIs, granting admin, resetting a password,
// disabling or deleting a user, resetting a user's second factors, deleting
// a group) also need a fresh authentication, by default within
// 15 minutes of the session's AuthTime; otherwise they answer 403 with a
// "sign in again" link (prompt=login).
//
// Every POST carries the web package's CSRF token and passes
// http.CrossOriginProtection.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
	"github.com/monban-idp/monban/web"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/view"
)

// ClientID is the internal client the console signs in through.
const ClientID = clientpolicy.ConsoleClientID

// DefaultFreshAuth is how recent a sign-in must be for sensitive actions.
const DefaultFreshAuth = 15 * time.Minute

// Store is the part of storage.Store the console uses.
type Store interface {
	storage.Users
	storage.Factors
	storage.WebAuthnCredentials
	storage.Groups
	storage.Lists
	storage.Clients
	storage.AuditLog
	storage.Atomic
	// Linked upstream identities (issue 18).
	storage.FederatedIdentities
	GetSession(ctx context.Context, id string) (*storage.Session, error)
	ListUserSessions(ctx context.Context, userID string) ([]*storage.Session, error)
	ListSigningKeys(ctx context.Context) ([]*storage.SigningKey, error)
	GetConsent(ctx context.Context, userID, clientID string) (*storage.Consent, error)
	ListUserConsents(ctx context.Context, userID string) ([]*storage.Consent, error)
}

// SessionEnder ends sessions the way the provider does (web/session's
// Manager implements it): refresh tokens bound to them revoked, back-channel logout
// enqueued. Disabling a user ends all of theirs.
type SessionEnder interface {
	EndSession(ctx context.Context, sessionID, reason string) error
	EndUserSessions(ctx context.Context, userID, reason string) (int, error)
}

// PasswordHasher hashes new passwords (storage/password.Hasher).
type PasswordHasher interface {
	Hash(password string) (string, error)
}

// Config configures the console. Pages, Store and Issuer are required.
type Config struct {
	// Pages are the browser pages: the session, CSRF and error pages.
	Pages *web.Handler
	Store Store
	// Issuer is the provider's issuer URL; the internal client's redirect
	// URI is Issuer + "/admin/callback".
	Issuer string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// FreshAuth is how recent the sign-in must be for sensitive actions;
	// zero means DefaultFreshAuth.
	FreshAuth time.Duration
	// Sessions ends a disabled user's sessions; nil answers 503 there.
	Sessions SessionEnder
	// Hasher hashes passwords set in the console; nil answers 503 there.
	Hasher PasswordHasher
	// Logger receives failures and a line per audit entry; nil means
	// slog.Default().
	Logger *slog.Logger
	// AllowPrivateBackchannel accepts back-channel logout URIs on loopback
	// and private addresses (backchannel_allow_private_networks).
	AllowPrivateBackchannel bool
}

// Handler serves the console. Create it with New.
type Handler struct {
	pages     *web.Handler
	store     Store
	issuer    string
	now       func() time.Time
	freshAuth time.Duration
	sessions  SessionEnder
	hasher    PasswordHasher
	log       *slog.Logger
	audit     *storage.AuditRecorder // the audit trail: Store and the log
	// allowPrivateBackchannel is Config.AllowPrivateBackchannel.
	allowPrivateBackchannel bool
}

// New checks cfg and returns a Handler.
func New(cfg Config) (*Handler, error) {
	var errs []error
	if cfg.Pages == nil {
		errs = append(errs, errors.New("admin: Pages is required"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("admin: Store is required"))
	}
	iss, err := url.Parse(cfg.Issuer)
	if err != nil || (iss.Scheme != "http" && iss.Scheme != "https") || iss.Host == "" {
		errs = append(errs, fmt.Errorf("admin: Issuer %q must be an absolute http or https URL", cfg.Issuer))
	}
	if cfg.FreshAuth < 0 {
		errs = append(errs, errors.New("admin: FreshAuth must not be negative"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	h := &Handler{
		pages: cfg.Pages, store: cfg.Store, issuer: strings.TrimSuffix(cfg.Issuer, "/"),
		now: cfg.Now, freshAuth: cfg.FreshAuth, sessions: cfg.Sessions, hasher: cfg.Hasher, log: cfg.Logger,
		allowPrivateBackchannel: cfg.AllowPrivateBackchannel,
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.freshAuth == 0 {
		h.freshAuth = DefaultFreshAuth
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.audit = &storage.AuditRecorder{Log: h.store, Logger: h.log, Now: h.now}
	return h, nil
}

// Routes registers the console on mux under /admin.
func (h *Handler) Routes(mux *http.ServeMux) {
	get := func(pattern string, f func(http.ResponseWriter, *http.Request, *admin)) {
		mux.Handle("GET "+pattern, h.pages.Page(h.guard(f, false)))
	}
	post := func(pattern string, f func(http.ResponseWriter, *http.Request, *admin), fresh bool) {
		mux.Handle("POST "+pattern, h.pages.FormPage(h.guard(f, fresh)))
	}
	mux.Handle("GET /admin/signin", h.pages.Page(http.HandlerFunc(h.signIn)))
	mux.Handle("GET /admin/callback", h.pages.Page(http.HandlerFunc(h.callback)))
	get("/admin", h.home)
	get("/admin/signout", h.confirmSignOut)
	post("/admin/signout", h.signOut, false)
	get("/admin/clients", h.listClients)
	get("/admin/clients/new", h.newClientForm)
	post("/admin/clients/new", h.createClient, false)
	get("/admin/clients/{id}", h.showClient)
	post("/admin/clients/{id}", h.updateClient, false)
	get("/admin/clients/{id}/delete", h.confirmDeleteClient)
	post("/admin/clients/{id}/delete", h.deleteClient, true)
	get("/admin/clients/{id}/deleted", h.clientDeleted)
	get("/admin/clients/{id}/rotate-secret", h.confirmRotateSecret)
	post("/admin/clients/{id}/rotate-secret", h.rotateSecret, true)
	get("/admin/users", h.listUsers)
	get("/admin/users/new", h.newUserForm)
	post("/admin/users/new", h.createUser, false)
	get("/admin/users/{id}", h.showUser)
	post("/admin/users/{id}/password", h.setPassword, true)
	get("/admin/users/{id}/disable", h.confirmDisableUser)
	post("/admin/users/{id}/disable", h.setDisabled, true)
	post("/admin/users/{id}/consents/{client}/revoke", h.revokeConsent, false)
	post("/admin/users/{id}/links/remove", h.removeLink, false)
	post("/admin/users/{id}/admin", h.setAdmin, true)
	post("/admin/users/{id}/logout-everywhere", h.logoutEverywhere, false)
	post("/admin/users/{id}", h.updateUser, false)
	get("/admin/users/{id}/delete", h.confirmDeleteUser)
	post("/admin/users/{id}/delete", h.deleteUser, true)
	get("/admin/users/{id}/reset-factors", h.confirmResetFactors)
	post("/admin/users/{id}/reset-factors", h.resetFactors, true)
	get("/admin/groups", h.listGroups)
	post("/admin/groups", h.createGroup, false)
	get("/admin/groups/{id}", h.showGroup)
	post("/admin/groups/{id}", h.renameGroup, false)
	post("/admin/groups/{id}/members", h.addMember, false)
	post("/admin/groups/{id}/members/{user}/remove", h.removeMember, false)
	get("/admin/groups/{id}/delete", h.confirmDeleteGroup)
	post("/admin/groups/{id}/delete", h.deleteGroup, true)
	get("/admin/sessions", h.listSessions)
	post("/admin/sessions/{id}/end", h.endSession, false)
	get("/admin/keys", h.listKeys)
	get("/admin/audit", h.listAudit)
}

// admin is the signed-in administrator of a request.
type admin struct {
	user    *storage.User
	session *storage.Session
}

// guard lets only administrators through; fresh also requires a recent
// sign-in. POST bodies are parsed and their CSRF token checked before the
// handler runs.
func (h *Handler) guard(next func(http.ResponseWriter, *http.Request, *admin), fresh bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := h.pages.Sessions().Current(r)
		if err != nil {
			h.storeError(w, r, "current session", err)
			return
		}
		if s == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, signInPath(r.URL.RequestURI(), false), http.StatusSeeOther)
				return
			}
			h.message(w, r, http.StatusForbidden, nil, "admin.msg.signin_required.title",
				"admin.msg.signin_required.detail", signInPath("/admin", false), "admin.msg.sign_in")
			return
		}
		u, err := h.store.GetUser(r.Context(), s.UserID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			h.storeError(w, r, "get user", err)
			return
		}
		if u == nil || u.Disabled || !u.Admin {
			h.message(w, r, http.StatusForbidden, nil, "admin.msg.not_allowed.title",
				"admin.msg.not_allowed.detail", "", "")
			return
		}
		a := &admin{user: u, session: s}
		if r.Method == http.MethodPost {
			if !h.pages.ParseForm(w, r) {
				return
			}
			if fresh && !h.fresh(a) {
				h.askFreshSignIn(w, r, a)
				return
			}
		}
		next(w, r, a)
	})
}

// fresh reports whether the administrator signed in within the
// fresh-authentication window (checklist D2, ASVS 7.5.3).
func (h *Handler) fresh(a *admin) bool { return h.now().Sub(a.session.AuthTime) <= h.freshAuth }

// askFreshSignIn answers a sensitive change from a sign-in older than the
// window: 403 and a "sign in again" link (prompt=login, the username
// filled in) back to where the action can be taken again (backPath).
func (h *Handler) askFreshSignIn(w http.ResponseWriter, r *http.Request, a *admin) {
	h.message(w, r, http.StatusForbidden, a, "admin.msg.fresh.title", "admin.msg.fresh.detail",
		freshSignInPath(backPath(r), a.user.Username), "admin.msg.fresh.title", "Window", i18n.For(r.Context()).Duration(h.freshAuth))
}

// backPath is the page to return to after signing in again for a POST.
// Deleting a client, rotating its secret and disabling a user resume at
// their confirmation page (a GET of the same path), whose form, with a
// fresh CSRF token, then carries the action out; the others return to the
// page the form was on, where it is filled in again: a form's values (a
// new password) never travel through the sign-in.
func backPath(r *http.Request) string {
	p := r.URL.Path
	for _, action := range []string{"/delete", "/rotate-secret", "/disable"} {
		if strings.HasPrefix(p, "/admin/") && strings.HasSuffix(p, action) {
			return p
		}
	}
	for _, action := range []string{"/password", "/admin"} {
		if strings.HasPrefix(p, "/admin/") && strings.HasSuffix(p, action) {
			return strings.TrimSuffix(p, action)
		}
	}
	return p
}

// signInPath is the console's sign-in start for a return path.
func signInPath(next string, fresh bool) string {
	v := url.Values{"next": {next}}
	if fresh {
		v.Set("fresh", "1")
	}
	return "/admin/signin?" + v.Encode()
}

// freshSignInPath is "sign in again" for the administrator username: the
// sign-in form comes with the username filled in (login_hint).
func freshSignInPath(next, username string) string {
	return "/admin/signin?" + url.Values{"fresh": {"1"}, "hint": {username}, "next": {next}}.Encode()
}

// maxHint bounds the login_hint the console passes on.
const maxHint = 256

// localAdminPath reports whether p is a path inside the console that is
// safe to redirect to.
func localAdminPath(p string) bool {
	if p != "/admin" && !strings.HasPrefix(p, "/admin/") && !strings.HasPrefix(p, "/admin?") {
		return false
	}
	return !strings.ContainsAny(p, "\\\r\n") && !strings.Contains(p, "//")
}

// signIn sends the browser to /authorize for the internal client,
// registering the client first if it is absent. next (a console path)
// travels in state; fresh=1 adds prompt=login.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if !localAdminPath(next) {
		next = "/admin"
	}
	if err := h.EnsureClient(r.Context()); err != nil {
		h.storeError(w, r, "ensure admin client", err)
		return
	}
	v := url.Values{
		"client_id":             {ClientID},
		"redirect_uri":          {h.callbackURL()},
		"response_type":         {"code"},
		"scope":                 {"openid"},
		"state":                 {next},
		"code_challenge":        {storage.NewToken()},
		"code_challenge_method": {"S256"},
	}
	if r.URL.Query().Get("fresh") == "1" {
		v.Set("prompt", "login")
	}
	if hint := r.URL.Query().Get("hint"); hint != "" && len(hint) <= maxHint && utf8.ValidString(hint) {
		v.Set("login_hint", hint) // OIDC Core §3.1.2.1
	}
	http.Redirect(w, r, "/authorize?"+v.Encode(), http.StatusSeeOther)
}

// callback ends the sign-in: the session cookie is already set, so it
// only returns to the page in state. The code is left to expire.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("error") != "" {
		h.message(w, r, http.StatusForbidden, nil, "admin.msg.not_signed_in.title",
			"admin.msg.not_signed_in.detail", signInPath("/admin", false), "admin.msg.try_again")
		return
	}
	next := q.Get("state")
	if !localAdminPath(next) {
		next = "/admin"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) callbackURL() string { return h.issuer + "/admin/callback" }

// EnsureClient registers the internal client if it is absent, and points
// its redirect URI at this issuer if it names another one: the issuer
// may change (a new host name), and the console would then refuse every
// sign-in with "redirect address not registered".
func (h *Handler) EnsureClient(ctx context.Context) error {
	c, err := h.store.GetClient(ctx, ClientID)
	if err == nil {
		if slices.Equal(c.RedirectURIs, []string{h.callbackURL()}) {
			return nil
		}
		_, err := h.store.UpdateClient(ctx, ClientID, func(c *storage.Client) error {
			c.RedirectURIs, c.UpdatedAt = []string{h.callbackURL()}, h.now().UTC()
			return nil
		})
		return err
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	now := h.now().UTC()
	c = &storage.Client{
		ID: ClientID, Name: "monban admin console", AuthMethod: storage.AuthMethodNone,
		ApplicationType: storage.ApplicationWeb, RedirectURIs: []string{h.callbackURL()},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"},
		CreatedAt: now, UpdatedAt: now,
	}
	if err := h.store.CreateClient(ctx, c); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		return err
	}
	return nil
}

// frame is the frame of a page titled by the catalog key title, whose
// placeholders args fill (name/value pairs, see i18n.T).
func (h *Handler) frame(a *admin, title, section string, args ...any) view.AdminFrame {
	f := view.AdminFrame{Title: title, TitleArgs: args, Section: section}
	if a != nil {
		f.Admin = a.user.Username
	}
	return f
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, c view.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if err := c.Render(r.Context(), w); err != nil {
		h.log.ErrorContext(r.Context(), "render admin page", "path", r.URL.Path, "err", err)
	}
}

// message renders a short page; title, detail and link are catalog keys,
// args fill detail's placeholders.
func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, a *admin, title, detail, href, link string, args ...any) {
	ctx := r.Context()
	if link != "" {
		link = i18n.T(ctx, link)
	}
	h.render(w, r, status, view.AdminMessage(h.frame(a, title, ""), i18n.T(ctx, detail, args...), href, link))
}

// storeError answers a failure on our side through the pages' one error
// adapter (web.Handler.Fail): a 503 page with a generic message and the
// request id; what failed is logged, never shown.
func (h *Handler) storeError(w http.ResponseWriter, r *http.Request, op string, err error) {
	h.pages.Fail(w, r, fmt.Errorf("admin: %s: %w", op, err))
}

// notFound answers 404; title is the catalog key naming what is missing.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, a *admin, title string) {
	h.message(w, r, http.StatusNotFound, a, title, "admin.not_found.detail", "", "")
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request, a *admin) {
	if r.URL.Path != "/admin" {
		h.notFound(w, r, a, "admin.not_found.page")
		return
	}
	// One statement: counted while small, estimated from the database's
	// statistics once large (storage.Lists.CountRows), never a scan of a
	// million rows per view.
	c, err := h.store.CountRows(r.Context())
	if err != nil {
		h.storeError(w, r, "count rows", err)
		return
	}
	h.render(w, r, http.StatusOK, view.AdminHome(h.frame(a, "admin.home.title", "home"),
		view.AdminHomeData{Clients: c.Clients, Users: c.Users, Groups: c.Groups, Sessions: c.Sessions, Estimated: c.Estimated}))
}
