package web

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/acr"
	"github.com/monban-idp/monban/web/connector"
	"github.com/monban-idp/monban/web/view"
)

// linkPath is the page that links an upstream identity to an existing
// local account.
const linkPath = "/connector/link"

// Catalog keys of the link page's messages.
const (
	linkCodeNeeded = "link.error.code"
)

// pendingLink is an upstream identity whose e-mail address belongs to a
// local account, waiting for the person to prove that account. It is
// never linked by the address alone (account takeover through an
// upstream that lets anyone claim an address).
type pendingLink struct {
	Binding  string             `json:"b"`
	Identity connector.Identity `json:"i"`
	Expires  time.Time          `json:"e"`
}

// openLink returns the browser's pending link for the request, or
// false.
func (h *Handler) openLink(r *http.Request, requestID string) (*pendingLink, *Connector, bool) {
	var pl pendingLink
	if !h.openSigned(r, linkCookie, &pl) || !hmac.Equal([]byte(pl.Binding), []byte(bindingOf(requestID))) ||
		!h.now().Before(pl.Expires) {
		return nil, nil, false
	}
	c := h.connectors[pl.Identity.ConnectorID]
	return &pl, c, c != nil
}

func (h *Handler) getLink(w http.ResponseWriter, r *http.Request) error {
	id := r.URL.Query().Get("id")
	p, err := h.loadRequest(r, id)
	if err != nil {
		return err
	}
	_, c, ok := h.openLink(r, id)
	if !ok {
		return fail(http.StatusBadRequest, connStateT, connStateD, errors.New("link page without a pending link"))
	}
	h.renderLink(w, r, http.StatusOK, p, c, "", "")
	return nil
}

func (h *Handler) renderLink(w http.ResponseWriter, r *http.Request, status int, p *pendingRequest, c *Connector, username, msg string) {
	AllowFormAction(w, r, p.req.RedirectURI)
	h.render(w, r, status, view.LinkAccount(view.LinkForm{RequestID: p.id, CSRFToken: h.ensureCSRF(w, r),
		Provider: c.Names, Username: username, Error: msg}))
}

// postLink checks the local account's password (and its second factor,
// when it has one) under the sign-in throttle, then links the identity
// and signs in with amr fed, pwd (and otp).
func (h *Handler) postLink(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	id := r.PostForm.Get("id")
	p, err := h.loadRequest(r, id)
	if err != nil {
		return err
	}
	pl, c, ok := h.openLink(r, id)
	if !ok {
		return fail(http.StatusBadRequest, connStateT, connStateD, errors.New("link form without a pending link"))
	}
	username, password, code := r.PostForm.Get("username"), r.PostForm.Get("password"), r.PostForm.Get("code")
	if len(password) > maxPasswordBytes || len(username) > maxUsernameBytes || !utf8.ValidString(username) || len(code) > 64 {
		h.renderLink(w, r, http.StatusBadRequest, p, c, "", badCredentials)
		return nil
	}
	if username == "" || password == "" {
		h.renderLink(w, r, http.StatusBadRequest, p, c, username, enterCredentials)
		return nil
	}
	ctx := r.Context()
	addr := h.clientAddr(r)
	att, err := h.countAttempt(ctx, username, addr)
	if err != nil {
		return fmt.Errorf("count link attempt: %w", err)
	}
	switch att.verdict {
	case refusedAddress:
		w.Header().Set("Retry-After", retryAfterSeconds(att.retryAfter))
		h.renderLink(w, r, http.StatusTooManyRequests, p, c, username, tooManyAttempts)
		return nil
	case refusedAccount:
		h.events.SignIn(false)
		h.renderLink(w, r, http.StatusUnauthorized, p, c, username, badCredentials)
		return nil
	}
	user, err := h.store.GetUserByUsername(ctx, username)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("get user by username: %w", err)
	}
	pwOK, _, reason := h.checkPassword(user, password)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if !pwOK {
		h.events.SignIn(false)
		h.recordFailure(ctx, att, username, addr, user, "link "+c.ID+": "+reason, p.req)
		h.renderLink(w, r, http.StatusUnauthorized, p, c, username, badCredentials)
		return nil
	}
	methods := []string{acr.AMRPassword}
	switch t, err := h.store.GetTOTP(ctx, user.ID); {
	case err == nil && t.Confirmed():
		if code == "" {
			h.renderLink(w, r, http.StatusUnauthorized, p, c, username, linkCodeNeeded)
			return nil
		}
		if h.factorKeys == nil {
			return errors.New("link: the account has a second factor but no factor keys are configured")
		}
		method, reason, err := h.checkFactor(ctx, &factorPage{req: p, user: user, totp: t}, code)
		if err != nil {
			return err
		}
		if method == "" {
			h.events.SignIn(false)
			h.recordFailure(ctx, att, "factor:"+username, addr, user, "link "+c.ID+": "+reason, p.req)
			h.renderLink(w, r, http.StatusUnauthorized, p, c, username, badFactorCode)
			return nil
		}
		methods = append(methods, acr.AMROTP)
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("get totp: %w", err)
	}
	h.clearAttempts(ctx, username, addr)
	if err := h.accounts.Link(ctx, user.ID, pl.Identity); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) { // linked meanwhile (another tab)
			return fail(http.StatusConflict, connStateT, connStateD, err)
		}
		return err
	}
	h.clearCookie(w, linkCookie)
	h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionIdentityLinked, ActorID: user.ID, Actor: user.Username,
		Target: "user:" + user.ID, Address: addr, Detail: "upstream " + c.ID + " subject " + pl.Identity.Subject})
	user, err = h.store.GetUser(ctx, user.ID)
	if err != nil {
		return fmt.Errorf("get user: %w", err)
	}
	return h.signInUpstream(w, r, p, c, user, pl.Identity, methods...)
}
