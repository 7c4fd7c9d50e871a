package web

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/userpolicy"
	"github.com/monban-idp/monban/web/view"
)

// Self-registration (issue 16), off by default. /register asks for a
// username, an e-mail address and a password, and always answers the same
// "check your e-mail" page (no enumeration, checklist S11). No account
// exists until the person follows the link mailed to the address: the link
// carries the registration sealed (AES-256-GCM under a key derived from the
// CSRF key) with its expiry, nothing is stored, and following it creates
// the account with the address verified. It works once: the username is
// then taken. When the username or the address is already in use, the
// address gets a mail saying so instead of a link.
const (
	RegisterPath       = "/register"
	RegisterVerifyPath = "/register/verify"
	// RegisterTTL is how long a registration link works.
	RegisterTTL = 24 * time.Hour
)

// Registration modes (registration: off|open|domains).
const (
	RegistrationOff     = "off"
	RegistrationOpen    = "open"
	RegistrationDomains = "domains"
)

// RegistrationConfig turns self-registration on.
type RegistrationConfig struct {
	// Mode is RegistrationOff (or ""), RegistrationOpen, or
	// RegistrationDomains: only addresses in Domains.
	Mode string
	// Domains are the e-mail domains allowed in RegistrationDomains mode
	// (compared case-insensitively, exactly: no subdomains).
	Domains []string
}

func (c RegistrationConfig) check() error {
	switch c.Mode {
	case "", RegistrationOff, RegistrationOpen:
		return nil
	case RegistrationDomains:
		if len(c.Domains) == 0 {
			return errors.New("web: registration: domains needs at least one domain in registration_domains")
		}
		return nil
	}
	return fmt.Errorf("web: registration %q must be off, open or domains", c.Mode)
}

func (c RegistrationConfig) on() bool {
	return c.Mode == RegistrationOpen || c.Mode == RegistrationDomains
}

// allows reports whether email may register.
func (c RegistrationConfig) allows(email string) bool {
	if c.Mode != RegistrationDomains {
		return true
	}
	_, domain, _ := strings.Cut(email, "@")
	return slices.ContainsFunc(c.Domains, func(d string) bool { return strings.EqualFold(d, domain) })
}

// Throttles of the registration form: per address, and per e-mail address
// as typed (so the mails one mailbox gets are bounded whoever asks).
var (
	registerAddressPolicy = storage.ThrottlePolicy{Window: time.Hour, Free: 10, Delay: time.Hour, MaxDelay: time.Hour}
	registerMailPolicy    = storage.ThrottlePolicy{Window: time.Hour, Free: 3, Delay: time.Hour, MaxDelay: time.Hour}
)

// registration is what a registration link carries.
type registration struct {
	Username string    `json:"u"`
	Email    string    `json:"e"`
	Hash     string    `json:"h"`
	Expires  time.Time `json:"x"`
}

func (h *Handler) registerAEAD() cipher.AEAD {
	block, _ := aes.NewCipher(derive(h.csrfKey, "monban registration link")) // 32 bytes: AES-256
	aead, _ := cipher.NewGCM(block)
	return aead
}

func (h *Handler) sealRegistration(reg registration) string {
	b, _ := json.Marshal(reg)
	aead := h.registerAEAD()
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, b, []byte("register")))
}

func (h *Handler) openRegistration(token string) (*registration, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	aead := h.registerAEAD()
	if err != nil || len(raw) < aead.NonceSize() {
		return nil, false
	}
	b, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte("register"))
	if err != nil {
		return nil, false
	}
	var reg registration
	if json.Unmarshal(b, &reg) != nil || !h.now().Before(reg.Expires) {
		return nil, false
	}
	return &reg, true
}

func (h *Handler) registerRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+RegisterPath, h.page(h.serve(h.getRegister)))
	mux.Handle("POST "+RegisterPath, h.page(h.crossOrigin.Handler(h.serve(h.postRegister))))
	mux.Handle("GET "+RegisterVerifyPath, h.page(h.serve(h.getRegisterVerify)))
}

func (h *Handler) getRegister(w http.ResponseWriter, r *http.Request) error {
	h.render(w, r, http.StatusOK, view.Register(view.RegisterForm{CSRFToken: h.ensureCSRF(w, r)}))
	return nil
}

func (h *Handler) postRegister(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	f := view.RegisterForm{Username: strings.TrimSpace(r.PostForm.Get("username")),
		Email: strings.TrimSpace(r.PostForm.Get("email"))}
	pw := r.PostForm.Get("password")
	again := func(status int, key string) error {
		f.CSRFToken, f.Error = h.ensureCSRF(w, r), key
		h.render(w, r, status, view.Register(f))
		return nil
	}
	u := &storage.User{Username: f.Username, Email: f.Email}
	switch {
	case f.Username == "" || f.Email == "" || len(userpolicy.ValidateUser(u)) > 0:
		return again(http.StatusBadRequest, "register.error.invalid")
	case !h.registration.allows(f.Email):
		return again(http.StatusBadRequest, "register.error.domain")
	case pw != r.PostForm.Get("confirm"):
		return again(http.StatusBadRequest, "reset.error.mismatch")
	case len(pw) > maxPasswordBytes || len(userpolicy.CheckPassword(pw, u)) > 0:
		return again(http.StatusBadRequest, "reset.error.weak")
	}
	ctx := r.Context()
	now := h.now()
	state, ok, err := h.store.RecordLoginFailure(ctx, "register-ip:"+h.clientAddr(r), now, registerAddressPolicy)
	if err != nil {
		return fmt.Errorf("count registration: %w", err)
	}
	if !ok {
		w.Header().Set("Retry-After", retryAfterSeconds(state.LockedUntil.Sub(now)))
		return again(http.StatusTooManyRequests, tooManyAttempts)
	}
	hash, err := h.hasher.Hash(pw)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	// From here on the answer is the same page whatever happens.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	_, ok, err = h.store.RecordLoginFailure(ctx, "register-mail:"+strings.ToLower(f.Email), now, registerMailPolicy)
	if err != nil {
		return fmt.Errorf("count registration: %w", err)
	}
	if ok {
		if err := h.sendRegistration(ctx, u, hash); err != nil {
			return err
		}
	}
	h.render(w, r, http.StatusOK, view.RegisterSent())
	return nil
}

// sendRegistration queues the mail to u.Email: the link, or, when the
// username or the address is in use, a notice that says so.
func (h *Handler) sendRegistration(ctx context.Context, u *storage.User, hash string) error {
	taken := false
	if _, err := h.store.GetUserByUsername(ctx, u.Username); err == nil {
		taken = true
	} else if !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("get user: %w", err)
	}
	if others, err := h.accountsFor(ctx, u.Email); err != nil {
		return err
	} else if len(others) > 0 {
		taken = true
	}
	to := &storage.User{ID: "-", Username: u.Username, Email: u.Email}
	var m *storage.Mail
	var err error
	if taken {
		m, err = h.mailFor(ctx, to, "registration_taken", "mail.register_taken.subject", view.MailContent{
			Heading: "mail.register_taken.heading", Paragraphs: []string{"mail.register_taken.body"},
			Link: h.link(ForgotPath), LinkLabel: "mail.register_taken.button", Footer: "mail.verify.footer"})
	} else {
		token := h.sealRegistration(registration{Username: u.Username, Email: u.Email, Hash: hash,
			Expires: h.now().Add(RegisterTTL)})
		m, err = h.mailFor(ctx, to, "registration", "mail.register.subject", view.MailContent{
			Heading: "mail.register.heading", Paragraphs: []string{"mail.register.body", "mail.verify.expiry"},
			Link: h.link(RegisterVerifyPath + "?token=" + url.QueryEscape(token)), LinkLabel: "mail.register.button",
			Footer: "mail.verify.footer"})
	}
	if err != nil {
		return err
	}
	if err := h.store.MailOutbox().Enqueue(ctx, m); err != nil {
		return fmt.Errorf("queue registration mail: %w", err)
	}
	h.notifyMail()
	return nil
}

// getRegisterVerify creates the account a registration link carries, with
// its address verified. A wrong, expired or used link (the username is
// taken by then) changes nothing.
func (h *Handler) getRegisterVerify(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if len(token) > 2048 {
		return errBadLink(nil)
	}
	reg, ok := h.openRegistration(token)
	if !ok {
		return errBadLink(nil)
	}
	now := h.now().UTC()
	u := &storage.User{ID: storage.NewID(), Username: reg.Username, Email: reg.Email, EmailVerified: true,
		PasswordHash: reg.Hash, CreatedAt: now, UpdatedAt: now}
	ctx := r.Context()
	err := h.store.Atomically(ctx, func(tx storage.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return h.auditIn(tx).RecordChange(ctx, storage.AuditEntry{Action: storage.ActionRegistered, ActorID: u.ID,
			Actor: u.Username, Target: "user:" + u.ID, Address: h.clientAddr(r), Detail: "self-registration"})
	})
	if errors.Is(err, storage.ErrAlreadyExists) {
		return errBadLink(err)
	}
	if err != nil {
		return fmt.Errorf("create registered user: %w", err)
	}
	h.render(w, r, http.StatusOK, view.RegisterDone(u.Username))
	return nil
}

// registerURL is the sign-in page's link to the registration page, ""
// when registration is off.
func (h *Handler) registerURL() string {
	if !h.registration.on() || !h.mail.Enabled {
		return ""
	}
	return RegisterPath
}
