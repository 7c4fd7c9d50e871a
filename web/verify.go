package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/userpolicy"
	"github.com/monban-idp/monban/web/view"
)

// E-mail verification (issue 16): a single-use link, 256 bits
// (storage.NewToken), stored only hashed (ASVS 6.5.2) as a
// storage.TokenVerifyEmail UserToken that lives VerifyTTL. It proves the
// token's address: the account's own, or a new one that replaces it only
// once its link is followed (the old address then gets a notice). The
// token's stamp is the address the account had when it was made, so a
// link is refused once the account's address changed by any means; a
// newer link replaces older ones.
const (
	VerifyPath = "/account/verify"
	// VerifyTTL is how long a verification link works.
	VerifyTTL = 24 * time.Hour
)

// verifyMailPolicy bounds the verification mails one account can cause.
var verifyMailPolicy = storage.ThrottlePolicy{Window: time.Hour, Free: 5, Delay: time.Hour, MaxDelay: time.Hour}

func (h *Handler) verifyRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+VerifyPath, h.page(h.serve(h.getVerify)))
	mux.Handle("POST "+accountPath+"/email/verify", h.page(h.crossOrigin.Handler(h.serve(h.postVerifyRequest))))
	mux.Handle("POST "+accountPath+"/email", h.page(h.crossOrigin.Handler(h.serve(h.postEmailChange))))
}

// EmailStamp ties a verification token to the address the account had
// when the token was made.
func EmailStamp(email string) string {
	return storage.HashToken("monban verify stamp\x00" + strings.ToLower(email))
}

// VerificationMail is the content of the mail that proves an address.
func VerificationMail(link string) view.MailContent {
	return view.MailContent{Heading: "mail.verify.heading",
		Paragraphs: []string{"mail.verify.body", "mail.verify.expiry"},
		Link:       link, LinkLabel: "mail.verify.button", Footer: "mail.verify.footer"}
}

// NewVerification makes a verification token for u proving email (u's own
// address, or the new one). It returns the token to put in the link and
// the UserToken to store.
func NewVerification(u *storage.User, email string, now time.Time) (string, *storage.UserToken) {
	token := storage.NewToken()
	now = now.UTC()
	return token, &storage.UserToken{Hash: storage.HashToken(token), UserID: u.ID, Purpose: storage.TokenVerifyEmail,
		Email: email, Stamp: EmailStamp(u.Email), CreatedAt: now, ExpiresAt: now.Add(VerifyTTL)}
}

// sendVerification stores a verification token for u proving email and
// queues its mail to that address, together, with an audit entry.
func (h *Handler) sendVerification(ctx context.Context, u *storage.User, email, addr string) error {
	return h.sendVerificationID(ctx, u, email, addr, nil)
}

// sendVerificationID is sendVerification that also reports the queued
// message's ID through id when it is not nil.
func (h *Handler) sendVerificationID(ctx context.Context, u *storage.User, email, addr string, id *string) error {
	token, t := NewVerification(u, email, h.now())
	to := *u
	to.Email = email
	m, err := h.mailFor(ctx, &to, "verify_email", "mail.verify.subject",
		VerificationMail(h.link(VerifyPath+"?token="+url.QueryEscape(token))))
	if err != nil {
		return err
	}
	err = h.store.Atomically(ctx, func(tx storage.Store) error {
		if err := tx.CreateUserToken(ctx, t); err != nil {
			return err
		}
		if err := tx.MailOutbox().Enqueue(ctx, m); err != nil {
			return err
		}
		return h.auditIn(tx).RecordChange(ctx, storage.AuditEntry{Action: storage.ActionEmailVerifyRequested, ActorID: u.ID,
			Actor: u.Username, Target: "user:" + u.ID, Address: addr, Detail: "verification mail " + m.ID})
	})
	if err != nil {
		return fmt.Errorf("queue verification mail: %w", err)
	}
	if id != nil {
		*id = m.ID
	}
	h.notifyMail()
	return nil
}

// throttleVerify counts one verification mail of the user; false when
// they asked too often.
func (h *Handler) throttleVerify(ctx context.Context, userID string) (bool, error) {
	_, ok, err := h.store.RecordLoginFailure(ctx, "verify-mail:"+userID, h.now(), verifyMailPolicy)
	if err != nil {
		return false, fmt.Errorf("count verification mail: %w", err)
	}
	return ok, nil
}

// postVerifyRequest sends a link proving the account's own address.
func (h *Handler) postVerifyRequest(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	s, u, ok, err := h.accountUser(w, r, false)
	if !ok || err != nil {
		return err
	}
	if u.Email == "" || u.EmailVerified {
		return accountDone(w, r, "saved")
	}
	if ok, err := h.throttleVerify(r.Context(), u.ID); err != nil || !ok {
		if err != nil {
			return err
		}
		return h.renderAccount(w, r, http.StatusTooManyRequests, s, u, profileOf(u), "", tooManyAttempts)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), bookkeepingTimeout)
	defer cancel()
	if err := h.sendVerification(ctx, u, u.Email, h.clientAddr(r)); err != nil {
		return err
	}
	return accountDone(w, r, "mail")
}

// postEmailChange sends a link to the new address; the account keeps its
// address until that link is followed. It needs a recent sign-in.
func (h *Handler) postEmailChange(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	s, u, ok, err := h.accountUser(w, r, true)
	if !ok || err != nil {
		return err
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	probe := *u
	probe.Email = email
	if email == "" || len(userpolicy.ValidateUser(&probe)) > 0 {
		return h.renderAccount(w, r, http.StatusBadRequest, s, u, profileOf(u), "", errEmailInvalid)
	}
	if ok, err := h.throttleVerify(r.Context(), u.ID); err != nil || !ok {
		if err != nil {
			return err
		}
		return h.renderAccount(w, r, http.StatusTooManyRequests, s, u, profileOf(u), "", tooManyAttempts)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), bookkeepingTimeout)
	defer cancel()
	if err := h.sendVerification(ctx, u, email, h.clientAddr(r)); err != nil {
		return err
	}
	return accountDone(w, r, "mail")
}

// getVerify follows a verification link: the token is consumed, and the
// account's address set to the token's and marked verified, in one
// transaction with the notice to a replaced address and the audit entry.
// A wrong, used, expired or outdated token, or one for another account
// than the browser is signed in to, changes nothing and gets a clear page.
func (h *Handler) getVerify(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if token == "" || len(token) > 64 {
		return errBadLink(nil)
	}
	ctx := r.Context()
	hash := storage.HashToken(token)
	t, err := h.store.GetUserToken(ctx, hash, storage.TokenVerifyEmail, h.now())
	if errors.Is(err, storage.ErrNotFound) {
		return errBadLink(err)
	}
	if err != nil {
		return fmt.Errorf("get verification token: %w", err)
	}
	s, err := h.sessions.Current(r)
	if err != nil {
		return fmt.Errorf("current session: %w", err)
	}
	if s != nil && s.UserID != t.UserID {
		return errBadLink(errors.New("verification link of another account than the signed-in one"))
	}
	u, err := h.store.GetUser(ctx, t.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return errBadLink(err)
	}
	if err != nil {
		return fmt.Errorf("get user: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	var notice *storage.Mail
	if h.mail.Enabled && u.Email != "" && !strings.EqualFold(u.Email, t.Email) {
		if notice, err = h.mailFor(ctx, u, "email_changed", "mail.email_changed.subject", view.MailContent{
			Heading: "mail.email_changed.heading", Paragraphs: []string{"mail.email_changed.body", "mail.changed.not_you"}}); err != nil {
			return err
		}
	}
	err = h.store.Atomically(ctx, func(tx storage.Store) error {
		t, err := tx.ConsumeUserToken(ctx, hash, storage.TokenVerifyEmail, h.now())
		if err != nil {
			return errBadLink(err)
		}
		_, err = tx.UpdateUser(ctx, t.UserID, func(cur *storage.User) error {
			if cur.Disabled || EmailStamp(cur.Email) != t.Stamp {
				return errBadLink(errors.New("the account's address changed since the link was sent"))
			}
			cur.Email, cur.EmailVerified, cur.UpdatedAt = t.Email, true, h.now().UTC()
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
		return h.auditIn(tx).RecordChange(ctx, storage.AuditEntry{Action: storage.ActionEmailVerified, ActorID: u.ID,
			Actor: u.Username, Target: "user:" + u.ID, Address: h.clientAddr(r), Detail: "e-mail address verified"})
	})
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return errBadLink(err)
		}
		return err
	}
	if notice != nil {
		h.notifyMail()
	}
	h.render(w, r, http.StatusOK, view.EmailVerified(t.Email))
	return nil
}
