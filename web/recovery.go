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
	"github.com/monban-idp/monban/storage/userpolicy"
	"github.com/monban-idp/monban/web/view"
)

// The forgotten-password pages (issue 16): /password/forgot asks for a
// username or e-mail address and always answers the same page, whatever
// the account (no enumeration; checklist S11); when the account exists and
// may sign in, a single-use link is queued by mail in the same
// transaction as its token. /password/reset?token=… sets a new password
// under storage/userpolicy, ends every session and revokes every refresh
// token of the person (back-channel logout is sent), and mails a notice.
//
// The token has 256 bits (storage.NewToken) and only its SHA-256 is stored
// (ASVS 6.5.2); it lives ResetTTL, is consumed by use, replaced by a newer
// link, and refused once the password changed by any means (its stamp is
// derived from the password hash it was issued against).
const (
	ForgotPath = "/password/forgot"
	ResetPath  = "/password/reset"
	// ResetTTL is how long a reset link works (OWASP Forgot Password
	// Cheat Sheet: short-lived).
	ResetTTL = 30 * time.Minute
)

// Throttles of the forgotten-password form: per address, and per account
// as typed (so the mails one account gets are bounded whoever asks).
var (
	forgotAddressPolicy = storage.ThrottlePolicy{Window: time.Hour, Free: 20, Delay: 15 * time.Minute, MaxDelay: time.Hour}
	forgotAccountPolicy = storage.ThrottlePolicy{Window: time.Hour, Free: 3, Delay: time.Hour, MaxDelay: time.Hour}
)

// maxIdentifierBytes bounds the username or address typed.
const maxIdentifierBytes = 320

func (h *Handler) getForgot(w http.ResponseWriter, r *http.Request) error {
	h.render(w, r, http.StatusOK, view.Forgot(view.ForgotForm{CSRFToken: h.ensureCSRF(w, r)}))
	return nil
}

func (h *Handler) postForgot(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	id := strings.TrimSpace(r.PostForm.Get("identifier"))
	if id == "" || len(id) > maxIdentifierBytes || !utf8.ValidString(id) || strings.ContainsAny(id, "\r\n") {
		h.render(w, r, http.StatusBadRequest, view.Forgot(view.ForgotForm{CSRFToken: h.ensureCSRF(w, r),
			Error: "forgot.error.invalid"}))
		return nil
	}
	ctx := r.Context()
	now := h.now()
	addr := h.clientAddr(r)
	state, ok, err := h.store.RecordLoginFailure(ctx, "forgot-ip:"+addr, now, forgotAddressPolicy)
	if err != nil {
		return fmt.Errorf("count reset request: %w", err)
	}
	if !ok {
		w.Header().Set("Retry-After", retryAfterSeconds(state.LockedUntil.Sub(now)))
		h.render(w, r, http.StatusTooManyRequests, view.Forgot(view.ForgotForm{CSRFToken: h.ensureCSRF(w, r),
			Identifier: id, Error: tooManyAttempts}))
		return nil
	}
	_, ok, err = h.store.RecordLoginFailure(ctx, "forgot-user:"+strings.ToLower(id), now, forgotAccountPolicy)
	if err != nil {
		return fmt.Errorf("count reset request: %w", err)
	}
	// From here on the answer is the same page whatever happens: the
	// account may not exist, may be disabled, or may have asked too often.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	users, err := h.accountsFor(ctx, id)
	if err != nil {
		return err
	}
	sent := 0
	for _, u := range users {
		if !ok || u.Disabled || u.Email == "" {
			continue
		}
		if err := h.sendReset(ctx, u, addr); err != nil {
			return err
		}
		sent++
	}
	if sent == 0 {
		// The same work as a link: a token, its hash, and a mail
		// rendered (not stored), so the answer takes about as long.
		_ = storage.HashToken(storage.NewToken())
		_, _ = h.mailFor(ctx, &storage.User{ID: "-", Email: "nobody@invalid"}, "password_reset", "mail.reset.subject",
			resetMail(h.link(ResetPath+"?token="+storage.NewToken())))
	}
	h.render(w, r, http.StatusOK, view.ForgotSent())
	return nil
}

// accountsFor returns the accounts id names: the one with that username,
// or else those whose e-mail address it is (at most a few).
func (h *Handler) accountsFor(ctx context.Context, id string) ([]*storage.User, error) {
	u, err := h.store.GetUserByUsername(ctx, id)
	if err == nil {
		return []*storage.User{u}, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("get user: %w", err)
	}
	if !strings.Contains(id, "@") {
		return nil, nil
	}
	page, err := h.store.ListUsersPage(ctx, storage.UserQuery{Search: id, Limit: 20})
	if err != nil {
		return nil, fmt.Errorf("find users by e-mail: %w", err)
	}
	var out []*storage.User
	for _, u := range page {
		if strings.EqualFold(u.Email, id) && len(out) < 3 {
			out = append(out, u)
		}
	}
	return out, nil
}

// passwordStamp ties a reset token to the password it was issued against.
func passwordStamp(u *storage.User) string {
	return storage.HashToken("monban reset stamp\x00" + u.PasswordHash)
}

func resetMail(link string) view.MailContent {
	return view.MailContent{Heading: "mail.reset.heading",
		Paragraphs: []string{"mail.reset.body", "mail.reset.expiry"},
		Link:       link, LinkLabel: "mail.reset.button", Footer: "mail.reset.footer"}
}

// sendReset stores a reset token for u and queues its mail, together.
func (h *Handler) sendReset(ctx context.Context, u *storage.User, addr string) error {
	token := storage.NewToken()
	now := h.now().UTC()
	m, err := h.mailFor(ctx, u, "password_reset", "mail.reset.subject", resetMail(h.link(ResetPath+"?token="+url.QueryEscape(token))))
	if err != nil {
		return err
	}
	err = h.store.Atomically(ctx, func(tx storage.Store) error {
		if err := tx.CreateUserToken(ctx, &storage.UserToken{Hash: storage.HashToken(token), UserID: u.ID,
			Purpose: storage.TokenPasswordReset, Email: u.Email, Stamp: passwordStamp(u),
			CreatedAt: now, ExpiresAt: now.Add(ResetTTL)}); err != nil {
			return err
		}
		if err := tx.MailOutbox().Enqueue(ctx, m); err != nil {
			return err
		}
		return h.auditIn(tx).RecordChange(ctx, storage.AuditEntry{Action: storage.ActionPasswordResetRequested,
			ActorID: u.ID, Actor: u.Username, Target: "user:" + u.ID, Address: addr, Detail: "mail " + m.ID})
	})
	if err != nil {
		return fmt.Errorf("queue reset mail: %w", err)
	}
	h.notifyMail()
	return nil
}

// auditIn is an audit recorder writing through tx (inside Atomically).
func (h *Handler) auditIn(tx storage.Store) *storage.AuditRecorder {
	return &storage.AuditRecorder{Log: tx, Logger: h.log, Now: h.now}
}

// errBadLink is the page for a reset or verification link that is wrong,
// used, expired, replaced or no longer matches the account.
func errBadLink(err error) error {
	return &PublicError{Status: http.StatusBadRequest, Title: "link.invalid.title", Detail: "link.invalid.detail", Err: err}
}

// usableReset returns the user a reset token is for, if it still works.
func (h *Handler) usableReset(ctx context.Context, token string) (*storage.User, error) {
	if token == "" || len(token) > 64 {
		return nil, errBadLink(nil)
	}
	t, err := h.store.GetUserToken(ctx, storage.HashToken(token), storage.TokenPasswordReset, h.now())
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errBadLink(err)
	}
	if err != nil {
		return nil, fmt.Errorf("get reset token: %w", err)
	}
	u, err := h.store.GetUser(ctx, t.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errBadLink(err)
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	if u.Disabled || t.Stamp != passwordStamp(u) {
		return nil, errBadLink(errors.New("account disabled or password changed since the link was sent"))
	}
	return u, nil
}

func (h *Handler) getReset(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	u, err := h.usableReset(r.Context(), token)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, view.Reset(view.ResetForm{CSRFToken: h.ensureCSRF(w, r), Token: token, Username: u.Username}))
	return nil
}

func (h *Handler) postReset(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	ctx := r.Context()
	token, pw := r.PostForm.Get("token"), r.PostForm.Get("password")
	u, err := h.usableReset(ctx, token)
	if err != nil {
		return err
	}
	again := func(status int, key string, problems ...string) error {
		h.render(w, r, status, view.Reset(view.ResetForm{CSRFToken: h.ensureCSRF(w, r), Token: token,
			Username: u.Username, Error: key, Problems: problems}))
		return nil
	}
	if pw != r.PostForm.Get("confirm") {
		return again(http.StatusBadRequest, "reset.error.mismatch")
	}
	if len(pw) > maxPasswordBytes {
		return again(http.StatusBadRequest, "reset.error.weak")
	}
	if fe := userpolicy.CheckPassword(pw, u); len(fe) > 0 {
		// The policy's reasons in the page's language (issue #14), never
		// its English Message.
		return again(http.StatusBadRequest, "reset.error.weak", FieldMessages(ctx, fe)[userpolicy.FieldPassword]...)
	}
	hash, err := h.hasher.Hash(pw)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	addr := h.clientAddr(r)
	notice, err := h.mailFor(ctx, u, "password_changed", "mail.changed.subject", view.MailContent{
		Heading: "mail.changed.heading", Paragraphs: []string{"mail.changed.body", "mail.changed.not_you"}})
	if err != nil {
		return err
	}
	// The token is consumed, the password set and the notice queued
	// together: of two uses of one link exactly one changes anything.
	err = h.store.Atomically(ctx, func(tx storage.Store) error {
		t, err := tx.ConsumeUserToken(ctx, storage.HashToken(token), storage.TokenPasswordReset, h.now())
		if err != nil {
			return errBadLink(err)
		}
		_, err = tx.UpdateUser(ctx, t.UserID, func(cur *storage.User) error {
			if cur.Disabled || passwordStamp(cur) != t.Stamp {
				return errBadLink(errors.New("password changed since the link was sent"))
			}
			cur.PasswordHash, cur.UpdatedAt = hash, h.now().UTC()
			return nil
		})
		if err != nil {
			return err
		}
		if err := tx.MailOutbox().Enqueue(ctx, notice); err != nil {
			return err
		}
		return h.auditIn(tx).RecordChange(ctx, storage.AuditEntry{Action: storage.ActionPasswordReset,
			ActorID: u.ID, Actor: u.Username, Target: "user:" + u.ID, Address: addr})
	})
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return errBadLink(err)
		}
		return err
	}
	h.notifyMail()
	// Whoever knew the old password is signed out everywhere (their
	// refresh tokens revoked, back-channel logout sent); no session is
	// started here, so nothing can be fixed on the person (checklist S4).
	if _, err := h.sessions.EndUserSessions(ctx, u.ID, "password_reset"); err != nil {
		return fmt.Errorf("end sessions after reset: %w", err)
	}
	_ = h.store.ClearLoginFailures(ctx, "user:"+u.Username)
	h.render(w, r, http.StatusOK, view.ResetDone())
	return nil
}

// recoveryRoutes registers the forgotten-password pages.
func (h *Handler) recoveryRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+ForgotPath, h.page(h.serve(h.getForgot)))
	mux.Handle("POST "+ForgotPath, h.page(h.crossOrigin.Handler(h.serve(h.postForgot))))
	mux.Handle("GET "+ResetPath, h.page(h.serve(h.getReset)))
	mux.Handle("POST "+ResetPath, h.page(h.crossOrigin.Handler(h.serve(h.postReset))))
}

// MailEnabled reports whether the pages that send mail are on.
func (h *Handler) MailEnabled() bool { return h.mail.Enabled }

// forgotURL is the sign-in page's link to the forgotten-password page, ""
// when mail is off.
func (h *Handler) forgotURL() string {
	if !h.mail.Enabled {
		return ""
	}
	return ForgotPath
}
