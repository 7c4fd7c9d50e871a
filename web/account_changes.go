package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/userpolicy"
	"github.com/monban-idp/monban/web/view"
)

// accountPasswordPolicy bounds guesses of the current password on the
// account page (a borrowed signed-in browser must not become an oracle).
var accountPasswordPolicy = storage.ThrottlePolicy{Window: 15 * time.Minute, Free: 5, Delay: 15 * time.Minute, MaxDelay: time.Hour}

// postProfile changes the person's standard claims (OIDC Core §5.1) that
// the account page offers, validated by storage/userpolicy, under the
// user's row lock and with an audit entry in one transaction.
func (h *Handler) postProfile(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	s, u, ok, err := h.accountUser(w, r, true)
	if !ok || err != nil {
		return err
	}
	pf := r.PostForm
	p := view.ProfileFields{Name: pf.Get("name"), GivenName: pf.Get("given_name"), FamilyName: pf.Get("family_name"),
		Nickname: pf.Get("nickname"), Locale: pf.Get("locale"), Zoneinfo: pf.Get("zoneinfo"),
		Picture: pf.Get("picture"), Website: pf.Get("website")}
	for _, v := range []*string{&p.Name, &p.GivenName, &p.FamilyName, &p.Nickname, &p.Locale, &p.Zoneinfo, &p.Picture, &p.Website} {
		*v = strings.TrimSpace(*v)
	}
	ctx := r.Context()
	var invalid storage.FieldErrors
	err = h.store.Atomically(ctx, func(tx storage.Store) error {
		_, err := tx.UpdateUser(ctx, u.ID, func(cur *storage.User) error {
			cur.Name, cur.GivenName, cur.FamilyName, cur.Nickname = p.Name, p.GivenName, p.FamilyName, p.Nickname
			cur.Locale, cur.Zoneinfo, cur.Picture, cur.Website = p.Locale, p.Zoneinfo, p.Picture, p.Website
			if fe := userpolicy.ValidateUser(cur); len(fe) > 0 {
				invalid = fe
				return fe
			}
			cur.UpdatedAt = h.now().UTC()
			return nil
		})
		if err != nil {
			return err
		}
		return h.auditIn(tx).RecordChange(ctx, storage.AuditEntry{Action: storage.ActionAccountProfile, ActorID: u.ID,
			Actor: u.Username, Target: "user:" + u.ID, Address: h.clientAddr(r), Detail: "profile changed by the person"})
	})
	if len(invalid) > 0 {
		return h.renderAccount(w, r, http.StatusBadRequest, s, u, p, "", errProfileInvalid)
	}
	if err != nil {
		return fmt.Errorf("update profile: %w", err)
	}
	return accountDone(w, r, "saved")
}

// postPassword changes the password: the current one is required
// (ASVS 6.2.3), the new one meets storage/userpolicy. The person's other
// sessions are ended with all their refresh tokens (offline ones
// included); this browser's session stays. A notice is mailed when mail
// is on and the person has an address.
func (h *Handler) postPassword(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	s, u, ok, err := h.accountUser(w, r, true)
	if !ok || err != nil {
		return err
	}
	ctx := r.Context()
	again := func(status int, key string) error {
		return h.renderAccount(w, r, status, s, u, profileOf(u), "", key)
	}
	cur, pw := r.PostForm.Get("current"), r.PostForm.Get("password")
	if len(cur) > maxPasswordBytes || len(pw) > maxPasswordBytes {
		return again(http.StatusBadRequest, errPasswordWeak)
	}
	now := h.now()
	key := "account-password:" + u.ID
	state, allowed, err := h.store.RecordLoginFailure(ctx, key, now, accountPasswordPolicy)
	if err != nil {
		return fmt.Errorf("count password attempt: %w", err)
	}
	if !allowed {
		w.Header().Set("Retry-After", retryAfterSeconds(state.LockedUntil.Sub(now)))
		return again(http.StatusTooManyRequests, tooManyAttempts)
	}
	if ok, _, _ := h.checkPassword(u, cur); !ok {
		return again(http.StatusUnauthorized, errPasswordWrong)
	}
	_ = h.store.ClearLoginFailures(ctx, key)
	if pw != r.PostForm.Get("confirm") {
		return again(http.StatusBadRequest, errPasswordDiffer)
	}
	if len(userpolicy.CheckPassword(pw, u)) > 0 {
		return again(http.StatusBadRequest, errPasswordWeak)
	}
	hash, err := h.hasher.Hash(pw)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	var notice *storage.Mail
	if h.mail.Enabled && u.Email != "" {
		if notice, err = h.mailFor(ctx, u, "password_changed", "mail.changed.subject", view.MailContent{
			Heading: "mail.changed.heading", Paragraphs: []string{"mail.password_changed.body", "mail.changed.not_you"}}); err != nil {
			return err
		}
	}
	err = h.store.Atomically(ctx, func(tx storage.Store) error {
		_, err := tx.UpdateUser(ctx, u.ID, func(c *storage.User) error {
			if c.PasswordHash != u.PasswordHash || c.Disabled {
				return storage.ErrConflict // changed since it was checked
			}
			c.PasswordHash, c.UpdatedAt = hash, h.now().UTC()
			return nil
		})
		if err != nil {
			return err
		}
		if notice != nil {
			if err := tx.MailOutbox().Enqueue(ctx, notice); err != nil {
				return err
			}
		}
		return h.auditIn(tx).RecordChange(ctx, storage.AuditEntry{Action: storage.ActionAccountPassword, ActorID: u.ID,
			Actor: u.Username, Target: "user:" + u.ID, Address: h.clientAddr(r), Detail: "password changed on the account page"})
	})
	if errors.Is(err, storage.ErrConflict) {
		return again(http.StatusConflict, errPasswordWrong)
	}
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if notice != nil {
		h.notifyMail()
	}
	if _, err := h.endOtherSessions(ctx, u.ID, s.ID, "password_changed"); err != nil {
		return err
	}
	return accountDone(w, r, "password")
}

// endOtherSessions ends every live session of the user but keep, with
// every refresh token issued from them (offline_access ones included;
// back-channel logout is sent by the session manager).
func (h *Handler) endOtherSessions(ctx context.Context, userID, keep, reason string) (int, error) {
	sessions, err := h.store.ListUserSessions(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("list sessions: %w", err)
	}
	n := 0
	for _, o := range sessions {
		if o.ID == keep {
			continue
		}
		if err := h.store.RevokeSessionRefreshTokens(ctx, o.ID, false, h.now().UTC()); err != nil {
			return n, fmt.Errorf("revoke session refresh tokens: %w", err)
		}
		if err := h.sessions.EndSession(ctx, o.ID, reason); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// postEndSession ends one of the person's other sessions (checklist L3).
func (h *Handler) postEndSession(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	cur, u, ok, err := h.accountUser(w, r, false)
	if !ok || err != nil {
		return err
	}
	id := r.PostForm.Get("session")
	if id == cur.ID {
		return accountDone(w, r, "session") // this browser signs out through /logout
	}
	o, err := h.store.GetSession(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && o.UserID != u.ID) {
		return accountDone(w, r, "session") // not theirs: nothing to say about it
	}
	if err != nil {
		return fmt.Errorf("get session: %w", err)
	}
	if err := h.sessions.EndSession(r.Context(), id, "ended on the account page"); err != nil {
		return err
	}
	return accountDone(w, r, "session")
}

// postEndOthers signs the person out everywhere else.
func (h *Handler) postEndOthers(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	cur, u, ok, err := h.accountUser(w, r, false)
	if !ok || err != nil {
		return err
	}
	if _, err := h.endOtherSessions(r.Context(), u.ID, cur.ID, "signed out everywhere else"); err != nil {
		return err
	}
	return accountDone(w, r, "others")
}

// postRevokeApp takes an application's access away: the consent is
// deleted and every refresh token of the person for that client revoked
// (offline_access ones included), so its next refresh is refused.
func (h *Handler) postRevokeApp(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	_, u, ok, err := h.accountUser(w, r, false)
	if !ok || err != nil {
		return err
	}
	ctx := r.Context()
	client := r.PostForm.Get("client")
	if client == "" || len(client) > 256 {
		return accountDone(w, r, "app")
	}
	if err := h.store.DeleteConsent(ctx, u.ID, client); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("delete consent: %w", err)
	}
	if err := h.store.RevokeUserClientRefreshTokens(ctx, u.ID, client, h.now().UTC()); err != nil {
		return fmt.Errorf("revoke client refresh tokens: %w", err)
	}
	h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionConsentRevoke, ActorID: u.ID, Actor: u.Username,
		Target: "client:" + client, Address: h.clientAddr(r), Detail: "access revoked on the account page"})
	return accountDone(w, r, "app")
}
