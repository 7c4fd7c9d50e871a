package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/view"
)

// securityPath is the account's security page (issue 17): the person's
// second factors. It stands alone until the self-service account pages
// link to it.
const securityPath = "/account/security"

// recentSignIn bounds how long ago the session's sign-in may be for the
// security page to change factors (a borrowed, long-open browser cannot
// swap someone's second factor).
const recentSignIn = 15 * time.Minute

// Catalog keys of the security page's refusals.
const (
	notSignedInT   = "security.error.signed_out.title"
	notSignedInD   = "security.error.signed_out.detail"
	staleSignInT   = "security.error.stale.title"
	staleSignInD   = "security.error.stale.detail"
	factorNeededT  = "security.error.required.title"
	factorNeededD  = "security.error.required.detail"
	securityCodeKo = "security.error.bad_code"
)

// securityRoutes registers GET /account/security and its forms: start
// and confirm a TOTP enrolment, remove it, make new recovery codes.
func (h *Handler) securityRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+securityPath, h.page(h.serve(h.getSecurity)))
	for path, fn := range map[string]handlerFunc{
		securityPath + "/totp":         h.postTOTPStart,
		securityPath + "/totp/confirm": h.postTOTPConfirm,
		securityPath + "/totp/remove":  h.postTOTPRemove,
		securityPath + "/recovery":     h.postRecoveryCodes,
	} {
		mux.Handle("POST "+path, h.page(h.crossOrigin.Handler(h.serve(fn))))
	}
	h.passkeyRoutes(mux)
}

// signedIn returns the browser's session user; every security page needs
// one, and a change needs a recent sign-in (recentSignIn).
func (h *Handler) signedIn(r *http.Request, change bool) (*storage.Session, *storage.User, error) {
	if h.factorKeys == nil {
		return nil, nil, fail(http.StatusNotFound, notSignedInT, notSignedInD, errors.New("no factor keys configured"))
	}
	s, err := h.sessions.Current(r)
	if err != nil {
		return nil, nil, fmt.Errorf("current session: %w", err)
	}
	if s == nil {
		return nil, nil, fail(http.StatusUnauthorized, notSignedInT, notSignedInD, nil)
	}
	u, err := h.store.GetUser(r.Context(), s.UserID)
	if err != nil {
		return nil, nil, fmt.Errorf("get user: %w", err)
	}
	if change && h.now().Sub(s.AuthTime) > recentSignIn {
		return nil, nil, fail(http.StatusForbidden, staleSignInT, staleSignInD, nil)
	}
	return s, u, nil
}

func (h *Handler) getSecurity(w http.ResponseWriter, r *http.Request) error {
	_, u, err := h.signedIn(r, false)
	if err != nil {
		return err
	}
	return h.renderSecurity(w, r, http.StatusOK, u, nil, nil, "")
}

// renderSecurity shows the page; enrol is a pending TOTP enrolment to
// confirm, codes new recovery codes shown this once.
func (h *Handler) renderSecurity(w http.ResponseWriter, r *http.Request, status int, u *storage.User,
	enrol *view.TOTPEnrolment, codes []string, msg string) error {
	ctx := r.Context()
	f := view.SecurityForm{CSRFToken: h.ensureCSRF(w, r), Username: u.Username, Enrol: enrol, NewCodes: codes, Error: msg}
	t, err := h.store.GetTOTP(ctx, u.ID)
	switch {
	case err == nil:
		f.TOTPOn = t.Confirmed()
	case !errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("get totp: %w", err)
	}
	if f.CodesLeft, err = h.store.CountRecoveryCodes(ctx, u.ID); err != nil {
		return fmt.Errorf("count recovery codes: %w", err)
	}
	if f.Passkeys, err = h.passkeySection(w, r, u); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store") // a secret or codes may be on it
	h.render(w, r, status, view.Security(f))
	return nil
}

// postTOTPStart creates a pending TOTP enrolment, replacing any earlier
// pending one, and shows its QR code and secret.
func (h *Handler) postTOTPStart(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	_, u, err := h.signedIn(r, true)
	if err != nil {
		return err
	}
	t, err := h.store.GetTOTP(r.Context(), u.ID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("get totp: %w", err)
	}
	if err == nil && t.Confirmed() {
		return h.renderSecurity(w, r, http.StatusOK, u, nil, nil, "")
	}
	// Always a fresh secret here: a pending one may have been made by
	// whoever stood at a sign-in's enrolment with this person's password.
	enrol, err := h.totpEnrolment(r.Context(), u, nil)
	if err != nil {
		return err
	}
	return h.renderSecurity(w, r, http.StatusOK, u, enrol, nil, "")
}

// postTOTPConfirm confirms the pending enrolment with a first code; the
// factor counts only from then on. It also makes the first recovery
// codes, shown once.
func (h *Handler) postTOTPConfirm(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	_, u, err := h.signedIn(r, true)
	if err != nil {
		return err
	}
	ctx := r.Context()
	t, err := h.store.GetTOTP(ctx, u.ID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && t.Confirmed()) {
		return h.renderSecurity(w, r, http.StatusOK, u, nil, nil, "")
	}
	if err != nil {
		return fmt.Errorf("get totp: %w", err)
	}
	addr := h.clientAddr(r)
	name := "factor:" + u.Username
	att, err := h.countAttempt(ctx, name, addr)
	if err != nil {
		return fmt.Errorf("count factor attempt: %w", err)
	}
	fp := &factorPage{user: u, totp: t}
	method := ""
	if att.verdict == admitted && !looksLikeRecoveryCode(r.PostForm.Get("code")) {
		if method, _, err = h.checkFactor(ctx, fp, r.PostForm.Get("code")); err != nil {
			return err
		}
	}
	if method == "" {
		enrol, err := h.totpEnrolment(ctx, u, t)
		if err != nil {
			return err
		}
		return h.renderSecurity(w, r, http.StatusUnprocessableEntity, u, enrol, nil, securityCodeKo)
	}
	h.clearAttempts(ctx, name, addr)
	codes, hashes := newRecoveryCodes()
	if err := h.store.ReplaceRecoveryCodes(ctx, u.ID, hashes, h.now().UTC()); err != nil {
		return fmt.Errorf("store recovery codes: %w", err)
	}
	h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionFactorEnrol, ActorID: u.ID, Actor: u.Username,
		Target: "user:" + u.ID, Address: addr, Detail: "enrolled a TOTP factor; new recovery codes"})
	return h.renderSecurity(w, r, http.StatusOK, u, nil, codes, "")
}

// postTOTPRemove removes the TOTP factor and the recovery codes, unless
// the administrators rule needs them (a client's rule is met by
// enrolling again at its next sign-in).
func (h *Handler) postTOTPRemove(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	_, u, err := h.signedIn(r, true)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if h.adminsMFA && u.Admin {
		creds, err := h.store.ListWebAuthnCredentials(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("list passkeys: %w", err)
		}
		if len(creds) == 0 { // the TOTP factor is the last one
			return fail(http.StatusForbidden, factorNeededT, factorNeededD, nil)
		}
	}
	// Not DeleteFactors: the person's passkeys stay.
	if err := h.store.DeleteTOTP(ctx, u.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("delete totp: %w", err)
	}
	if err := h.store.ReplaceRecoveryCodes(ctx, u.ID, nil, h.now().UTC()); err != nil {
		return fmt.Errorf("delete recovery codes: %w", err)
	}
	h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionFactorRemove, ActorID: u.ID, Actor: u.Username,
		Target: "user:" + u.ID, Address: h.clientAddr(r), Detail: "removed the TOTP factor and recovery codes"})
	http.Redirect(w, r, securityPath, http.StatusSeeOther)
	return nil
}

// postRecoveryCodes makes ten new recovery codes, shown once; the old
// ones stop working.
func (h *Handler) postRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	_, u, err := h.signedIn(r, true)
	if err != nil {
		return err
	}
	ctx := r.Context()
	t, err := h.store.GetTOTP(ctx, u.ID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !t.Confirmed()) {
		http.Redirect(w, r, securityPath, http.StatusSeeOther) // codes back up a factor
		return nil
	}
	if err != nil {
		return fmt.Errorf("get totp: %w", err)
	}
	codes, hashes := newRecoveryCodes()
	if err := h.store.ReplaceRecoveryCodes(ctx, u.ID, hashes, h.now().UTC()); err != nil {
		return fmt.Errorf("store recovery codes: %w", err)
	}
	h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionRecoveryCodes, ActorID: u.ID, Actor: u.Username,
		Target: "user:" + u.ID, Address: h.clientAddr(r), Detail: "new recovery codes"})
	return h.renderSecurity(w, r, http.StatusOK, u, nil, codes, "")
}
