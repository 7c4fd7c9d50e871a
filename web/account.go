package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/view"
)

// The account page (issue 16): a person's own profile, e-mail, password,
// sessions and applications, at /account. It is reached through the
// person's browser session (session.Manager.Current). Pages are signed in
// to through AccountClientID, an internal first-party client of the
// provider, as the admin console is: /account/signin starts an ordinary
// authorization-code request (prompt=login for a fresh sign-in, OIDC Core
// §3.1.2.1) whose callback only returns to the page, the session cookie
// being already set.
//
// Every form is a POST with the CSRF token (parsePost) behind the
// cross-origin check; a change needs a sign-in within recentSignIn (ASVS
// 7.5.3), otherwise a page asks to sign in again.
const (
	accountPath = "/account"
	// AccountClientID is the internal client the account page signs in
	// through.
	AccountClientID = "monban-account"
)

// Catalog keys of the account page's notices and refusals.
const (
	noticeSaved       = "account.notice.saved"
	noticePassword    = "account.notice.password"
	noticeSessionEnd  = "account.notice.session_ended"
	noticeOthersEnd   = "account.notice.others_ended"
	noticeAppRevoked  = "account.notice.app_revoked"
	noticeMailSent    = "account.notice.mail_sent"
	errProfileInvalid = "account.error.profile"
	errPasswordWrong  = "account.error.password_wrong"
	errPasswordWeak   = "account.error.password_weak"
	errPasswordDiffer = "account.error.password_mismatch"
	errEmailInvalid   = "account.error.email"
)

// accountNotices maps the ?done= values of the redirect after a change to
// catalog keys, so a link cannot put arbitrary text on the page.
var accountNotices = map[string]string{
	"saved": noticeSaved, "password": noticePassword, "session": noticeSessionEnd,
	"others": noticeOthersEnd, "app": noticeAppRevoked, "mail": noticeMailSent,
}

func (h *Handler) accountRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+accountPath, h.page(h.serve(h.getAccount)))
	mux.Handle("GET "+accountPath+"/signin", h.page(h.serve(h.accountSignIn)))
	mux.Handle("GET "+accountPath+"/callback", h.page(h.serve(h.accountCallback)))
	for path, fn := range map[string]handlerFunc{
		"/profile":             h.postProfile,
		"/password":            h.postPassword,
		"/sessions/end":        h.postEndSession,
		"/sessions/end-others": h.postEndOthers,
		"/apps/revoke":         h.postRevokeApp,
	} {
		mux.Handle("POST "+accountPath+path, h.page(h.crossOrigin.Handler(h.serve(fn))))
	}
	if h.mail.Enabled {
		h.verifyRoutes(mux)
	}
}

// accountUser returns the browser's session and its user. Without a live
// session a GET goes to the sign-in; a POST is refused. change requires a
// recent sign-in: otherwise the page asking to sign in again is shown and
// ok is false.
func (h *Handler) accountUser(w http.ResponseWriter, r *http.Request, change bool) (*storage.Session, *storage.User, bool, error) {
	s, err := h.sessions.Current(r)
	if err != nil {
		return nil, nil, false, fmt.Errorf("current session: %w", err)
	}
	if s == nil {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, accountSignInPath(false, ""), http.StatusSeeOther)
			return nil, nil, false, nil
		}
		return nil, nil, false, fail(http.StatusUnauthorized, notSignedInT, notSignedInD, nil)
	}
	u, err := h.store.GetUser(r.Context(), s.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, false, fail(http.StatusUnauthorized, notSignedInT, notSignedInD, err)
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("get user: %w", err)
	}
	if change && h.now().Sub(s.AuthTime) > recentSignIn {
		w.Header().Set("Cache-Control", "no-store")
		h.render(w, r, http.StatusForbidden, view.AccountSignInAgain(accountSignInPath(true, u.Username),
			i18n.For(r.Context()).Duration(recentSignIn)))
		return nil, nil, false, nil
	}
	return s, u, true, nil
}

// accountSignInPath is the account page's sign-in start; fresh asks for
// the password again (prompt=login) with the username filled in.
func accountSignInPath(fresh bool, username string) string {
	if !fresh {
		return accountPath + "/signin"
	}
	return accountPath + "/signin?" + url.Values{"fresh": {"1"}, "hint": {username}}.Encode()
}

// accountSignIn sends the browser to /authorize for the internal client,
// registering it first when absent (or pointing its redirect URI at this
// issuer). The state is fixed: the callback always returns to /account.
func (h *Handler) accountSignIn(w http.ResponseWriter, r *http.Request) error {
	if err := h.ensureAccountClient(r); err != nil {
		return err
	}
	v := url.Values{
		"client_id":             {AccountClientID},
		"redirect_uri":          {h.link(accountPath + "/callback")},
		"response_type":         {"code"},
		"scope":                 {"openid"},
		"state":                 {"account"},
		"code_challenge":        {storage.NewToken()},
		"code_challenge_method": {"S256"},
	}
	q := r.URL.Query()
	if q.Get("fresh") == "1" {
		v.Set("prompt", "login")
	}
	if hint := q.Get("hint"); hint != "" && len(hint) <= maxUsernameBytes && utf8.ValidString(hint) {
		v.Set("login_hint", hint)
	}
	http.Redirect(w, r, "/authorize?"+v.Encode(), http.StatusSeeOther)
	return nil
}

// accountCallback ends the sign-in: the session cookie is set already;
// the code is left to expire unused.
func (h *Handler) accountCallback(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Get("error") != "" {
		return fail(http.StatusForbidden, notSignedInT, notSignedInD, nil)
	}
	http.Redirect(w, r, accountPath, http.StatusSeeOther)
	return nil
}

func (h *Handler) ensureAccountClient(r *http.Request) error {
	ctx := r.Context()
	redirect := []string{h.link(accountPath + "/callback")}
	c, err := h.store.GetClient(ctx, AccountClientID)
	if err == nil {
		if slices.Equal(c.RedirectURIs, redirect) {
			return nil
		}
		_, err = h.store.UpdateClient(ctx, AccountClientID, func(c *storage.Client) error {
			c.RedirectURIs, c.UpdatedAt = redirect, h.now().UTC()
			return nil
		})
		if err != nil {
			return fmt.Errorf("update account client: %w", err)
		}
		return nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("get account client: %w", err)
	}
	now := h.now().UTC()
	err = h.store.CreateClient(ctx, &storage.Client{ID: AccountClientID, Name: "monban account",
		AuthMethod: storage.AuthMethodNone, ApplicationType: storage.ApplicationWeb, RedirectURIs: redirect,
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, CreatedAt: now, UpdatedAt: now})
	if err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		return fmt.Errorf("create account client: %w", err)
	}
	return nil
}

func (h *Handler) getAccount(w http.ResponseWriter, r *http.Request) error {
	s, u, ok, err := h.accountUser(w, r, false)
	if !ok || err != nil {
		return err
	}
	return h.renderAccount(w, r, http.StatusOK, s, u, profileOf(u), accountNotices[r.URL.Query().Get("done")], "")
}

func profileOf(u *storage.User) view.ProfileFields {
	return view.ProfileFields{Name: u.Name, GivenName: u.GivenName, FamilyName: u.FamilyName, Nickname: u.Nickname,
		Locale: u.Locale, Zoneinfo: u.Zoneinfo, Picture: u.Picture, Website: u.Website}
}

// renderAccount shows the page with the profile form holding p (what was
// typed, after a refusal).
func (h *Handler) renderAccount(w http.ResponseWriter, r *http.Request, status int, cur *storage.Session,
	u *storage.User, p view.ProfileFields, notice, msg string) error {
	ctx := r.Context()
	loc := i18n.For(ctx)
	f := view.AccountForm{CSRFToken: h.ensureCSRF(w, r), Username: u.Username, Email: u.Email,
		EmailVerified: u.EmailVerified, MailOn: h.mail.Enabled, HasPassword: u.PasswordHash != "", Profile: p, Notice: notice, Error: msg}
	sessions, err := h.store.ListUserSessions(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("list sessions: %w", err)
	}
	now := h.now()
	for _, s := range sessions {
		if h.sessions.Live(s, now) {
			f.Sessions = append(f.Sessions, view.AccountSession{ID: s.ID, Started: loc.Time(s.CreatedAt),
				LastSeen: loc.Time(s.LastSeenAt), Current: s.ID == cur.ID, Address: s.Address, UserAgent: s.UserAgent})
		}
	}
	if f.Apps, err = h.accountApps(ctx, u.ID, now); err != nil {
		return err
	}
	if f.Linked, err = h.LinkedIdentities(ctx, u.ID); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, status, view.Account(f))
	return nil
}

// accountDone returns to the account page with a notice.
func accountDone(w http.ResponseWriter, r *http.Request, done string) error {
	http.Redirect(w, r, accountPath+"?done="+done, http.StatusSeeOther)
	return nil
}

// accountApps lists the apps of the person: those with a remembered
// consent and those holding a live refresh token (first-party clients ask
// no consent; offline_access grants outlive the session), not the
// provider's own pages.
func (h *Handler) accountApps(ctx context.Context, userID string, now time.Time) ([]view.AccountApp, error) {
	scopes := map[string]string{}
	var apps []string
	seen := func(id, sc string) {
		if id == AccountClientID || id == "monban-admin" {
			return
		}
		if _, ok := scopes[id]; !ok {
			apps = append(apps, id)
		}
		if sc != "" || scopes[id] == "" {
			scopes[id] = sc
		}
	}
	holders, err := h.store.ListUserRefreshClients(ctx, userID, now)
	if err != nil {
		return nil, fmt.Errorf("list refresh clients: %w", err)
	}
	for _, id := range holders {
		seen(id, "")
	}
	consents, err := h.store.ListUserConsents(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	for _, c := range consents {
		seen(c.ClientID, strings.Join(c.Scopes, " "))
	}
	slices.Sort(apps)
	var out []view.AccountApp
	for _, id := range apps {
		name := id
		if cl, err := h.store.GetClient(ctx, id); err == nil && cl.Name != "" {
			name = cl.Name
		}
		out = append(out, view.AccountApp{ClientID: id, Name: name, Scopes: scopes[id]})
	}
	return out, nil
}
