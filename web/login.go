package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/monban-idp/monban/storage"
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

func (h *Handler) getLogin(w http.ResponseWriter, r *http.Request) {
	p := h.loadRequest(r.Context(), w, r, r.URL.Query().Get("id"))
	if p == nil {
		return
	}
	hint := p.req.LoginHint
	if len(hint) > maxUsernameBytes || !utf8.ValidString(hint) {
		hint = ""
	}
	h.renderLogin(w, r, http.StatusOK, p, hint, "")
}

func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, p *pendingRequest, username, msg string) {
	AllowFormAction(w, r, p.req.RedirectURI)
	h.render(w, r, status, view.Login(view.LoginForm{
		RequestID:  p.req.ID,
		CSRFToken:  h.ensureCSRF(w, r),
		ClientName: clientName(p.client),
		Username:   username,
		Error:      msg,
	}))
}

// postLogin checks the credentials. Only the request id from the body is
// used to continue: query parameters such as return_to are ignored and the
// browser only ever goes on to CallbackURL (checklist S14, A19).
func (h *Handler) postLogin(w http.ResponseWriter, r *http.Request) {
	if !h.parsePost(w, r) {
		return
	}
	ctx := r.Context()
	id := r.PostForm.Get("id")
	p := h.loadRequest(ctx, w, r, id)
	if p == nil {
		return
	}
	username, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	if len(password) > maxPasswordBytes || len(username) > maxUsernameBytes || !utf8.ValidString(username) {
		// Refused before any hashing; the text is the generic one.
		h.renderLogin(w, r, http.StatusBadRequest, p, "", badCredentials)
		return
	}
	if username == "" || password == "" {
		h.renderLogin(w, r, http.StatusBadRequest, p, username, "login.error.empty")
		return
	}

	// Counted before the password is checked, so parallel attempts cannot
	// slip past the limit (checklist S10, CVE-2023-47111).
	addr := h.clientAddr(r)
	att, err := h.countAttempt(ctx, username, addr)
	if err != nil {
		h.renderStoreError(w, r, "count sign-in attempt", err)
		return
	}
	switch att.verdict {
	case refusedAddress:
		w.Header().Set("Retry-After", retryAfterSeconds(att.retryAfter))
		h.renderLogin(w, r, http.StatusTooManyRequests, p, username, tooManyAttempts)
		return
	case refusedAccount: // no password check: a right password reveals nothing
		h.events.SignIn(false)
		h.renderLogin(w, r, http.StatusUnauthorized, p, username, badCredentials)
		return
	}

	user, err := h.store.GetUserByUsername(ctx, username)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.renderStoreError(w, r, "get user by username", err)
		return
	}
	ok, rehash, reason := h.checkPassword(user, password)
	if !ok {
		h.events.SignIn(false)
		h.recordFailure(ctx, att, username, addr, user, reason, p.req)
		h.renderLogin(w, r, http.StatusUnauthorized, p, username, badCredentials)
		return
	}

	h.clearAttempts(ctx, username, addr)
	now := h.now().UTC()
	if rehash {
		h.rehash(r, user, password, now)
	}
	s, err := h.startSession(ctx, w, r, user.ID, now)
	if err != nil {
		h.renderStoreError(w, r, "start session", err)
		return
	}
	err = h.store.AuthenticateAuthRequest(ctx, id, storage.AuthResult{
		UserID:    user.ID,
		SessionID: s.ID,
		AuthTime:  s.AuthTime,
		AMR:       s.AMR,
	})
	if h.requestUpdateFailed(w, r, "authenticate auth request", err) {
		return
	}
	h.events.SignIn(true)
	h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionSignIn, ActorID: user.ID, Actor: user.Username,
		Target: "session:" + s.ID, Address: addr, Detail: "client " + p.req.ClientID}, "auth_request", id)
	http.Redirect(w, r, h.callback(id), http.StatusSeeOther)
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
// Failure is logged, not fatal: the old hash still works.
func (h *Handler) rehash(r *http.Request, user *storage.User, password string, now time.Time) {
	phc, err := h.hasher.Hash(password)
	if err != nil {
		h.log.ErrorContext(r.Context(), "rehash password", "user_id", user.ID, "err", err)
		return
	}
	u := *user
	u.PasswordHash = phc
	u.UpdatedAt = now
	if err := h.store.UpdateUser(r.Context(), &u); err != nil {
		h.log.ErrorContext(r.Context(), "store rehashed password", "user_id", user.ID, "err", err)
	}
}
