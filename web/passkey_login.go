package web

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/acr"
	"github.com/monban-idp/monban/web/session"
	"github.com/monban-idp/monban/web/view"
)

// passkeyLoginPath is where a sign-in page's passkey form posts the
// assertion: a passkey alone (identifying and authenticating at once,
// discoverable credentials, WebAuthn §6.2.2) or, after a password, as the
// second factor.
const passkeyLoginPath = "/login/passkey"

// Catalog keys of the passkey sign-in's refusals.
const (
	passkeyRefused = "passkey.error.refused"
	passkeyExpired = "passkey.error.expired"
)

// maxCredentialJSON bounds the assertion or attestation a form carries.
const maxCredentialJSON = 16 << 10

// ceremonyBinding binds a sign-in ceremony to its authorization request
// (a digest: a sealed request is several KiB).
func ceremonyBinding(authRequestID string) string {
	sum := sha256.Sum256([]byte("passkey\x00" + authRequestID))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// passkeySignIn starts a sign-in ceremony for the page of an
// authorization request and returns what the page shows (csrf is the
// page's CSRF token); nil when
// passkeys are off. With user nil the ceremony is for any discoverable
// credential (the password page); with a user, for their credentials
// only (the second-factor page), nil when they have none.
func (h *Handler) passkeySignIn(ctx context.Context, w http.ResponseWriter, authRequestID, csrf string,
	user *storage.User) (*view.PasskeySignIn, error) {
	if h.passkeys == nil {
		return nil, nil
	}
	var (
		opts *protocol.CredentialAssertion
		sd   *webauthn.SessionData
		err  error
	)
	uv := webauthn.WithUserVerification(protocol.VerificationPreferred)
	if user == nil {
		opts, sd, err = h.passkeys.BeginDiscoverableLogin(uv)
	} else {
		creds, lerr := h.store.ListWebAuthnCredentials(ctx, user.ID)
		if lerr != nil {
			return nil, fmt.Errorf("list passkeys: %w", lerr)
		}
		if len(creds) == 0 {
			return nil, nil
		}
		opts, sd, err = h.passkeys.BeginLogin(passkeyUser{u: user, creds: creds}, uv)
	}
	if err != nil {
		return nil, fmt.Errorf("begin passkey sign-in: %w", err)
	}
	h.saveCeremony(w, ceremonyLogin, ceremonyBinding(authRequestID), sd)
	return &view.PasskeySignIn{RequestID: authRequestID, CSRFToken: csrf, Options: optionsJSON(opts),
		Conditional: user == nil}, nil
}

// postPasskeyLogin verifies an assertion (go-webauthn: challenge, origin,
// RP ID hash, signature, flags; WebAuthn §7.2) and moves the sign-in on.
// A browser that passed the password step for this request must use one
// of that person's credentials (the second factor); otherwise the
// credential names the person. Every refusal is counted by the sign-in
// throttle and audited; the page says only that the passkey was not
// accepted.
func (h *Handler) postPasskeyLogin(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxCredentialJSON+maxFormBytes)
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	id := r.PostForm.Get("id")
	p, err := h.loadRequest(r, id)
	if err != nil {
		return err
	}
	if h.passkeys == nil {
		return errInvalidForm(errors.New("passkeys are off"))
	}
	progress := h.flow.Resume(r, id)
	refuse := func(status int, key string) error {
		return h.renderPasskeyRefusal(w, r, status, p, progress, key)
	}
	sd, ok := h.takeCeremony(w, r, ceremonyLogin, ceremonyBinding(id))
	if !ok {
		return refuse(http.StatusBadRequest, passkeyExpired)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(r.PostForm.Get("credential")))
	if err != nil {
		return refuse(http.StatusBadRequest, passkeyRefused)
	}
	ctx := r.Context()
	addr := h.clientAddr(r)
	cred, err := h.store.GetWebAuthnCredential(ctx, parsed.RawID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("get passkey: %w", err)
	}
	var user *storage.User
	if err == nil {
		if user, err = h.store.GetUser(ctx, cred.UserID); err != nil {
			return fmt.Errorf("get user: %w", err)
		}
	}
	name := "passkey:" + credentialName(parsed.RawID)
	if user != nil {
		name = "passkey:" + user.Username
	}
	att, err := h.countAttempt(ctx, name, addr)
	if err != nil {
		return fmt.Errorf("count passkey attempt: %w", err)
	}
	if att.verdict != admitted {
		w.Header().Set("Retry-After", retryAfterSeconds(max(att.retryAfter, time.Second)))
		return refuse(http.StatusTooManyRequests, tooManyAttempts)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	fail := func(reason string) error {
		h.events.SignIn(false)
		h.recordFailure(ctx, att, name, addr, user, "passkey: "+reason, p.req)
		return refuse(http.StatusUnauthorized, passkeyRefused)
	}
	switch {
	case user == nil:
		return fail("unknown credential")
	case user.Disabled:
		return fail("disabled user")
	case progress.UserID != "" && progress.Has(amrPassword) && progress.UserID != user.ID:
		return fail("credential of another user than the password's")
	}
	creds, err := h.store.ListWebAuthnCredentials(ctx, user.ID)
	if err != nil {
		return fmt.Errorf("list passkeys: %w", err)
	}
	pu := passkeyUser{u: user, creds: creds}
	if len(sd.UserID) > 0 {
		_, err = h.passkeys.ValidateLogin(pu, sd, parsed)
	} else {
		_, _, err = h.passkeys.ValidatePasskeyLogin(func(_, handle []byte) (webauthn.User, error) {
			return pu, nil // the credential's owner; go-webauthn checks the handle against it
		}, sd, parsed)
	}
	if err != nil {
		return fail("assertion not valid: " + protocolReason(err))
	}
	flags := parsed.Response.AuthenticatorData.Flags
	err = h.store.UseWebAuthnCredential(ctx, cred.ID, parsed.Response.AuthenticatorData.Counter, flags.HasBackupState(), h.now().UTC())
	if errors.Is(err, storage.ErrConflict) {
		h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionPasskeyCloned, ActorID: user.ID, Actor: user.Username,
			Target: "passkey:" + credentialName(cred.ID), Address: addr,
			Detail: fmt.Sprintf("signature counter %d after %d: a cloned authenticator?", parsed.Response.AuthenticatorData.Counter, cred.SignCount)})
		return fail("signature counter did not grow")
	}
	if err != nil {
		return fmt.Errorf("use passkey: %w", err)
	}
	h.clearAttempts(ctx, name, addr)
	progress.Identify(user.ID)
	for _, m := range passkeyMethods(cred.BackupEligible, flags.HasUserVerified()) {
		progress.Passed(m)
	}
	next, s, err := h.flow.Advance(ctx, w, r, progress)
	if err != nil {
		return errRequestUpdate(err)
	}
	if s != nil {
		h.events.SignIn(true)
		h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionSignIn, ActorID: user.ID, Actor: user.Username,
			Target: "session:" + s.ID, Address: addr,
			Detail: "passkey " + credentialName(cred.ID) + " (client " + p.req.ClientID + ")"}, "auth_request", p.req.ID)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// protocolReason is go-webauthn's short reason for the audit trail.
func protocolReason(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Details != "" {
		return pe.Details
	}
	return "invalid"
}

// renderPasskeyRefusal shows the page the passkey was offered on again
// with the message: the second-factor page after a password, the sign-in
// page otherwise.
func (h *Handler) renderPasskeyRefusal(w http.ResponseWriter, r *http.Request, status int, p *pendingRequest,
	progress *session.Progress, key string) error {
	if progress.UserID != "" && progress.Has(amrPassword) {
		fp, ok, err := h.loadFactorPage(w, r, p.id)
		if !ok || err != nil {
			return err
		}
		return h.renderFactor(w, r, status, fp, key)
	}
	h.renderLogin(w, r, status, p, "", key)
	return nil
}

// passkeyAMR reports whether amr includes a WebAuthn method.
func passkeyAMR(p *session.Progress) bool { return p.Has(acr.AMRHardware) || p.Has(acr.AMRSoftware) }
