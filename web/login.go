package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/session"
	"github.com/monban-idp/monban/web/view"
)

// Limits on sign-in input (checklist B2, B3).
const (
	maxPasswordBytes = 1024
	maxUsernameBytes = 256
)

// badCredentials is the catalog key of the one message for every failed sign-in: unknown
// user, wrong password, disabled account and a locked username look the
// same (checklist S10, S11).
const badCredentials = "login.error.bad_credentials"

// tooManyAttempts (a catalog key) answers attempts refused for their client address
// (checklist S10); it says nothing about any account.
const tooManyAttempts = "login.error.too_many"

// enterCredentials answers a form with an empty field.
const enterCredentials = "login.error.empty"

// loginPath is the password step's page.
const loginPath = "/login"

// passwordStep is the sign-in flow's password step: it identifies the
// person by username and authenticates them with their password (RFC 8176
// amr "pwd") at once. Its page is GET and POST /login.
type passwordStep struct{}

// Name implements session.Step.
func (passwordStep) Name() string { return "password" }

// URL implements session.Step.
func (passwordStep) URL(authRequestID string) string {
	return loginPath + "?id=" + url.QueryEscape(authRequestID)
}

// Done implements session.Step: done once a user passed their password,
// or a passkey on the same page (POST /login/passkey, which identifies
// and authenticates at once; passkey_login.go), or signed in at an
// upstream identity provider (federation.go).
func (passwordStep) Done(_ context.Context, p *session.Progress) (bool, error) {
	return p.UserID != "" && (p.Has(amrPassword) || passkeyAMR(p) || p.Has(amrFederated)), nil
}

// amrPassword is the RFC 8176 §2 method of a password check.
const amrPassword = "pwd"

func (h *Handler) getLogin(w http.ResponseWriter, r *http.Request) error {
	p, err := h.loadRequest(r, r.URL.Query().Get("id"))
	if err != nil {
		return err
	}
	hint := p.req.LoginHint
	if len(hint) > maxUsernameBytes || !utf8.ValidString(hint) {
		hint = ""
	}
	h.renderLogin(w, r, http.StatusOK, p, hint, "")
	return nil
}

func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, p *pendingRequest, username, msg string) {
	AllowFormAction(w, r, p.req.RedirectURI)
	csrf := h.ensureCSRF(w, r)
	pk, err := h.passkeySignIn(r.Context(), w, p.id, csrf, nil)
	if err != nil { // the password form still works
		h.log.ErrorContext(r.Context(), "passkey sign-in not offered", "err", err)
	}
	h.render(w, r, status, view.Login(view.LoginForm{
		Passkey:     pk,
		RequestID:   p.id, // a sealed value stays sealed until sign-in succeeds
		CSRFToken:   csrf,
		ClientName:  clientName(p.client),
		Username:    username,
		Error:       msg,
		ForgotURL:   h.forgotURL(),
		RegisterURL: h.registerURL(),
		Connectors:  h.connectorButtons(p.id),
	}))
}

// postLogin checks the credentials, then moves the sign-in flow on (to a
// further step, or completed to CallbackURL). Only the request id from
// the body is used to continue: query parameters such as return_to are
// ignored (checklist S14, A19).
func (h *Handler) postLogin(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	ctx := r.Context()
	id := r.PostForm.Get("id")
	p, err := h.loadRequest(r, id)
	if err != nil {
		return err
	}
	username, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	if len(password) > maxPasswordBytes || len(username) > maxUsernameBytes || !utf8.ValidString(username) {
		// Refused before any hashing; the text is the generic one.
		h.renderLogin(w, r, http.StatusBadRequest, p, "", badCredentials)
		return nil
	}
	if username == "" || password == "" {
		h.renderLogin(w, r, http.StatusBadRequest, p, username, enterCredentials)
		return nil
	}

	// Counted before the password is checked, so parallel attempts cannot
	// slip past the limit (checklist S10, CVE-2023-47111).
	addr := h.clientAddr(r)
	att, err := h.countAttempt(ctx, username, addr)
	if err != nil {
		return fmt.Errorf("count sign-in attempt: %w", err)
	}
	switch att.verdict {
	case refusedAddress:
		w.Header().Set("Retry-After", retryAfterSeconds(att.retryAfter))
		h.renderLogin(w, r, http.StatusTooManyRequests, p, username, tooManyAttempts)
		return nil
	case refusedAccount: // no password check: a right password reveals nothing
		h.events.SignIn(false)
		h.renderLogin(w, r, http.StatusUnauthorized, p, username, badCredentials)
		return nil
	}

	user, err := h.store.GetUserByUsername(ctx, username)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("get user by username: %w", err)
	}
	// A directory (LDAP) checks the password instead of the local hash
	// for some usernames (login_directory.go).
	dirs, err := h.directoriesFor(ctx, user)
	if err != nil {
		return err
	}
	if len(dirs) > 0 {
		return h.directorySignIn(w, r, p, att, dirs, user, username, password)
	}
	ok, rehash, reason := h.checkPassword(user, password)
	// What the check decided is written whether or not the browser is
	// still waiting: a client that disconnects right after a right
	// password must not leave the failure counters (or a rehash, the
	// session, the audit entry) half-written (issue #13 item 13).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if !ok {
		h.events.SignIn(false)
		h.recordFailure(ctx, att, username, addr, user, reason, p.req)
		h.renderLogin(w, r, http.StatusUnauthorized, p, username, badCredentials)
		return nil
	}

	h.clearAttempts(ctx, username, addr)
	if rehash {
		h.rehash(ctx, user, password)
	}
	progress := h.flow.Resume(r, id)
	progress.Identify(user.ID)
	progress.Passed(amrPassword)
	next, s, err := h.flow.Advance(ctx, w, r, progress)
	if err != nil {
		return errRequestUpdate(err)
	}
	if s != nil { // the sign-in is complete
		h.events.SignIn(true)
		h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionSignIn, ActorID: user.ID, Actor: user.Username,
			Target: "session:" + s.ID, Address: addr, Detail: "client " + p.req.ClientID}, "auth_request", p.req.ID)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// recordFailure writes the one audit entry of a failed password check:
// ActionLockout when the attempt locked a throttle counter, otherwise
// ActionSignInFailed. user is nil for an unknown username; reason comes
// from checkPassword ("wrong_password", …). The password is never passed.
func (h *Handler) recordFailure(ctx context.Context, att *attempt, username, addr string, user *storage.User, reason string, req *storage.AuthRequest) {
	e := storage.AuditEntry{Action: storage.ActionSignInFailed, Actor: username, Address: addr,
		Detail: strings.ReplaceAll(reason, "_", " ") + " (client " + req.ClientID + ")"}
	if user != nil {
		e.ActorID, e.Actor = user.ID, user.Username
	}
	locked, attrs := lockDetail(att)
	if locked != "" {
		e.Action, e.Detail = storage.ActionLockout, e.Detail+locked
	}
	h.audit.Record(ctx, e, append(attrs, "auth_request", req.ID)...)
}

// checkPassword verifies password for user (nil when unknown), spending the
// same argon2id effort in every case. reason is for the audit trail only
// (never shown to the person).
func (h *Handler) checkPassword(user *storage.User, password string) (ok, rehash bool, reason string) {
	if user == nil {
		h.hasher.VerifyDummy(password)
		return false, false, "unknown_user"
	}
	if user.PasswordHash == "" {
		h.hasher.VerifyDummy(password)
		return false, false, "no_password"
	}
	ok, rehash, err := h.hasher.Verify(password, user.PasswordHash)
	switch {
	case err != nil:
		h.log.Error("verify password: stored hash unusable", "user_id", user.ID, "err", err)
		return false, false, "bad_hash"
	case user.Disabled:
		return false, false, "disabled"
	case !ok:
		return false, false, "wrong_password"
	}
	return true, rehash, ""
}

// rehash stores a new hash for a user whose hash has outdated parameters.
// It writes only where the stored hash is still the one just verified
// (storage.Users.SetPasswordHash): an administrator who reset the password
// or disabled the user during the slow check keeps the last word. Failure
// is logged, not fatal: the old hash still works.
func (h *Handler) rehash(ctx context.Context, user *storage.User, password string) {
	phc, err := h.hasher.Hash(password)
	if err != nil {
		h.log.ErrorContext(ctx, "rehash password", "user_id", user.ID, "err", err)
		return
	}
	switch err := h.store.SetPasswordHash(ctx, user.ID, user.PasswordHash, phc); {
	case errors.Is(err, storage.ErrConflict), errors.Is(err, storage.ErrNotFound):
		h.log.InfoContext(ctx, "rehash skipped: the user changed during sign-in", "user_id", user.ID)
	case err != nil:
		h.log.ErrorContext(ctx, "store rehashed password", "user_id", user.ID, "err", err)
	}
}

// bookkeepingTimeout bounds the writes that follow a password check on a
// context detached from the request (see postLogin).
const bookkeepingTimeout = 10 * time.Second
