package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/acr"
	"github.com/monban-idp/monban/storage/pending"
	"github.com/monban-idp/monban/web/session"
	"github.com/monban-idp/monban/web/view"
)

// factorPath is the second-factor step's page.
const factorPath = "/login/factor"

// Catalog keys of the second-factor step's messages.
const (
	badFactorCode   = "factor.error.bad_code"
	emptyFactorCode = "factor.error.empty"
	// The request needs the phishing-resistant class: only a passkey.
	passkeyNeededLead   = "factor.passkey_needed"
	passkeyNeededCode   = "factor.error.passkey_needed"
	passkeyNeededTitle  = "error.passkey_needed.title"
	passkeyNeededDetail = "error.passkey_needed.detail"
	// The person has passkeys and no TOTP factor.
	passkeyFactorLead = "factor.passkey_lead"
)

// factorStep is the sign-in flow's second factor (issue 17): a TOTP code
// or a recovery code, RFC 8176 amr "otp". It runs for everyone with a
// confirmed TOTP factor, and for anyone whose request or role needs
// multi-factor (the request's acr, the client's require_mfa, the
// administrators rule), who enrols on the same page first when they have
// no factor. Its page is GET and POST /login/factor.
type factorStep struct{ h *Handler }

// Name implements session.Step.
func (factorStep) Name() string { return "second factor" }

// URL implements session.Step.
func (factorStep) URL(authRequestID string) string {
	return factorPath + "?id=" + url.QueryEscape(authRequestID)
}

// Done implements session.Step: not done while the methods passed do not
// reach the class the request needs (so a session with a password and a
// code is still asked for a passkey when the request needs the
// phishing-resistant class); otherwise done when they reach multi-factor,
// or when the person has no confirmed TOTP factor (a person with one is
// asked for it at every sign-in).
func (s factorStep) Done(ctx context.Context, p *session.Progress) (bool, error) {
	if p.UserID == "" {
		return false, nil
	}
	need, err := s.h.neededACR(ctx, p.RequestID, p.UserID)
	if err != nil {
		return false, err
	}
	switch {
	case !acr.Meets(p.AMR, need):
		return false, nil
	case acr.Meets(p.AMR, acr.MFA):
		return true, nil
	}
	t, err := s.h.store.GetTOTP(ctx, p.UserID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return false, err
	}
	return err != nil || !t.Confirmed(), nil
}

// neededACR is the class a sign-in for the request by userID needs, as
// op judges it: the request's (acr_values, claims, the client's
// require_mfa) and multi-factor for an administrator under
// AdminsRequireMFA.
func (h *Handler) neededACR(ctx context.Context, authRequestID, userID string) (string, error) {
	var req *storage.AuthRequest
	var err error
	if pending.IsSealed(authRequestID) {
		if h.pending == nil {
			return "", errNoSealer
		}
		req, err = h.pending.Open(authRequestID)
	} else {
		req, err = h.store.GetAuthRequest(ctx, authRequestID)
	}
	if err != nil {
		return "", fmt.Errorf("load auth request: %w", err)
	}
	need := req.ACR
	if h.adminsMFA {
		u, err := h.store.GetUser(ctx, userID)
		if err != nil {
			return "", fmt.Errorf("get user: %w", err)
		}
		if u.Admin {
			need = acr.Stronger(need, acr.MFA)
		}
	}
	return need, nil
}

// factorPage is what the second-factor page needs for a request.
type factorPage struct {
	req      *pendingRequest
	progress *session.Progress
	user     *storage.User
	totp     *storage.TOTP // nil: none yet
	need     string        // the class the request needs (neededACR)
}

// loadFactorPage loads the request and the progress; a browser that has
// not passed the password step for this request is sent to it (nothing
// here works without the earlier step's signed progress).
func (h *Handler) loadFactorPage(w http.ResponseWriter, r *http.Request, id string) (*factorPage, bool, error) {
	p, err := h.loadRequest(r, id)
	if err != nil {
		return nil, false, err
	}
	progress := h.flow.Resume(r, id)
	if progress.UserID == "" || !(progress.Has(amrPassword) || progress.Has(amrFederated)) || h.factorKeys == nil {
		http.Redirect(w, r, h.flow.Start(id), http.StatusSeeOther)
		return nil, false, nil
	}
	ctx := r.Context()
	u, err := h.store.GetUser(ctx, progress.UserID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
		http.Redirect(w, r, h.flow.Start(id), http.StatusSeeOther)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get user: %w", err)
	}
	fp := &factorPage{req: p, progress: progress, user: u}
	if fp.need, err = h.neededACR(ctx, id, u.ID); err != nil {
		return nil, false, err
	}
	switch t, err := h.store.GetTOTP(ctx, u.ID); {
	case err == nil:
		fp.totp = t
	case !errors.Is(err, storage.ErrNotFound):
		return nil, false, fmt.Errorf("get totp: %w", err)
	}
	return fp, true, nil
}

func (h *Handler) getFactor(w http.ResponseWriter, r *http.Request) error {
	id := r.URL.Query().Get("id")
	fp, ok, err := h.loadFactorPage(w, r, id)
	if !ok || err != nil {
		return err
	}
	return h.renderFactor(w, r, http.StatusOK, fp, "")
}

// renderFactor shows the code form, with the enrolment (QR code and
// secret) when the person has no factor at all yet (an unconfirmed secret
// is created once and shown again on reload), and the person's passkeys.
// Only the passkeys are offered when the request needs the
// phishing-resistant class (a code cannot reach it), or when the person
// has passkeys but no confirmed TOTP factor; needing that class without a
// passkey is a clear 403 page.
func (h *Handler) renderFactor(w http.ResponseWriter, r *http.Request, status int, fp *factorPage, msg string) error {
	f := view.FactorForm{RequestID: fp.req.id, CSRFToken: h.ensureCSRF(w, r),
		ClientName: clientName(fp.req.client), Error: msg}
	pk, err := h.passkeySignIn(r.Context(), w, fp.req.id, f.CSRFToken, fp.user)
	if err != nil {
		return err
	}
	f.Passkey = pk
	phr := fp.need == acr.PhishingResistant
	if phr && pk == nil {
		return &PublicError{Status: http.StatusForbidden, Title: passkeyNeededTitle, Detail: passkeyNeededDetail,
			Err: errors.New("the request needs a passkey and the person has none")}
	}
	confirmed := fp.totp != nil && fp.totp.Confirmed()
	switch {
	case phr:
		f.PasskeyOnly = passkeyNeededLead
	case pk != nil && !confirmed:
		f.PasskeyOnly = passkeyFactorLead
	case !confirmed:
		enrol, err := h.totpEnrolment(r.Context(), fp.user, fp.totp)
		if err != nil {
			return err
		}
		f.Enrol = enrol
	}
	AllowFormAction(w, r, fp.req.req.RedirectURI)
	h.render(w, r, status, view.Factor(f))
	return nil
}

// totpEnrolment returns the QR code and secret of the person's pending
// TOTP factor, creating one (sealed) when there is none.
func (h *Handler) totpEnrolment(ctx context.Context, u *storage.User, t *storage.TOTP) (*view.TOTPEnrolment, error) {
	var secret string
	if t != nil {
		plain, err := h.factorKeys.Open(totpAAD(u.ID), t.Secret)
		if err != nil {
			return nil, fmt.Errorf("open totp secret: %w", err)
		}
		secret = string(plain)
	} else {
		key, err := newTOTPKey(h.issuerHost, u.Username)
		if err != nil {
			return nil, fmt.Errorf("generate totp key: %w", err)
		}
		secret = key.Secret()
		err = h.store.PutTOTP(ctx, &storage.TOTP{UserID: u.ID, Secret: h.factorKeys.Seal(totpAAD(u.ID), []byte(secret)),
			CreatedAt: h.now().UTC()})
		if err != nil {
			return nil, fmt.Errorf("store totp: %w", err)
		}
	}
	svg, err := qrSVG(totpKeyURL(h.issuerHost, u.Username, secret))
	if err != nil {
		return nil, err
	}
	return &view.TOTPEnrolment{QRSVG: svg, Secret: secret}, nil
}

// postFactor checks a TOTP or recovery code, counted by the sign-in
// throttle under the person's own "factor:" name (so a guessed code and a
// guessed password lock separately, and an attacker who has the password
// still gets only a handful of codes).
func (h *Handler) postFactor(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	id := r.PostForm.Get("id")
	fp, ok, err := h.loadFactorPage(w, r, id)
	if !ok || err != nil {
		return err
	}
	if fp.need == acr.PhishingResistant { // a code cannot reach it; its time step stays unused
		return h.renderFactor(w, r, http.StatusBadRequest, fp, passkeyNeededCode)
	}
	code := r.PostForm.Get("code")
	if code == "" || len(code) > 64 {
		return h.renderFactor(w, r, http.StatusBadRequest, fp, emptyFactorCode)
	}
	ctx := r.Context()
	addr := h.clientAddr(r)
	name := "factor:" + fp.user.Username
	att, err := h.countAttempt(ctx, name, addr)
	if err != nil {
		return fmt.Errorf("count factor attempt: %w", err)
	}
	if att.verdict != admitted {
		w.Header().Set("Retry-After", retryAfterSeconds(max(att.retryAfter, time.Second)))
		return h.renderFactor(w, r, http.StatusTooManyRequests, fp, tooManyAttempts)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	method, reason, err := h.checkFactor(ctx, fp, code)
	if err != nil {
		return err
	}
	if method == "" {
		h.events.SignIn(false)
		e := storage.AuditEntry{Action: storage.ActionSignInFailed, ActorID: fp.user.ID, Actor: fp.user.Username,
			Address: addr, Detail: reason + " (client " + fp.req.req.ClientID + ")"}
		locked, attrs := lockDetail(att)
		if locked != "" {
			e.Action, e.Detail = storage.ActionLockout, e.Detail+locked
		}
		h.audit.Record(ctx, e, append(attrs, "auth_request", fp.req.req.ID)...)
		if fp.totp != nil && !fp.totp.Confirmed() { // the enrolment may have just been created
			fp.totp, _ = h.store.GetTOTP(ctx, fp.user.ID)
		}
		return h.renderFactor(w, r, http.StatusUnauthorized, fp, badFactorCode)
	}
	h.clearAttempts(ctx, name, addr)
	fp.progress.Passed(acr.AMROTP)
	next, s, err := h.flow.Advance(ctx, w, r, fp.progress)
	if err != nil {
		return errRequestUpdate(err)
	}
	if s != nil {
		h.events.SignIn(true)
		h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionSignIn, ActorID: fp.user.ID, Actor: fp.user.Username,
			Target: "session:" + s.ID, Address: addr, Detail: method + " (client " + fp.req.req.ClientID + ")"},
			"auth_request", fp.req.req.ID)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// checkFactor verifies code as a TOTP code (which also confirms a pending
// enrolment) or, when the TOTP factor is confirmed, as a recovery code.
// It returns the method that passed ("totp", "totp enrolment", "recovery
// code") or "" and the reason for the audit trail.
func (h *Handler) checkFactor(ctx context.Context, fp *factorPage, code string) (method, reason string, err error) {
	if fp.totp == nil {
		return "", "second factor: no pending enrolment", nil
	}
	if looksLikeRecoveryCode(code) && fp.totp.Confirmed() {
		err := h.store.UseRecoveryCode(ctx, fp.user.ID, recoveryHash(code), h.now().UTC())
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return "", "wrong or used recovery code", nil
		case err != nil:
			return "", "", fmt.Errorf("use recovery code: %w", err)
		}
		return "recovery code", "", nil
	}
	secret, err := h.factorKeys.Open(totpAAD(fp.user.ID), fp.totp.Secret)
	if err != nil {
		return "", "", fmt.Errorf("open totp secret: %w", err)
	}
	step, ok := matchTOTP(string(secret), code, h.now(), fp.totp.LastStep)
	if !ok {
		return "", "wrong or reused totp code", nil
	}
	err = h.store.UseTOTPStep(ctx, fp.user.ID, step, h.now().UTC())
	switch {
	case errors.Is(err, storage.ErrConflict), errors.Is(err, storage.ErrNotFound):
		return "", "reused totp code", nil
	case err != nil:
		return "", "", fmt.Errorf("use totp step: %w", err)
	}
	if !fp.totp.Confirmed() {
		return "totp enrolment", "", nil
	}
	return "totp", "", nil
}

// factorRoutes registers the second-factor pages: the sign-in step and
// the account's security page (account_security.go).
func (h *Handler) factorRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+factorPath, h.page(h.serve(h.getFactor)))
	mux.Handle("POST "+factorPath, h.page(h.crossOrigin.Handler(h.serve(h.postFactor))))
	h.securityRoutes(mux)
}

// StepUpURL starts the sign-in flow for an authorization request with
// what the browser's session already established, so only the missing
// factor is asked (op.StepUpper; session.Flow.StepUp).
func (h *Handler) StepUpURL(w http.ResponseWriter, r *http.Request, authRequestID string, sess *storage.Session) string {
	return h.flow.StepUp(w, r, authRequestID, sess)
}
