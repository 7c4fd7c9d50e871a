package web

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/view"
)

// Catalog keys of the security page's passkey messages.
const (
	passkeyNameBad   = "passkey.error.name"
	passkeyNotAdded  = "passkey.error.not_added"
	passkeyDuplicate = "passkey.error.duplicate"
)

// maxPasskeyName bounds a passkey's name (characters).
const maxPasskeyName = 64

// passkeyRoutes registers the security page's passkey forms: register,
// rename, remove.
func (h *Handler) passkeyRoutes(mux *http.ServeMux) {
	for path, fn := range map[string]handlerFunc{
		securityPath + "/passkey":        h.postPasskeyRegister,
		securityPath + "/passkey/rename": h.postPasskeyRename,
		securityPath + "/passkey/remove": h.postPasskeyRemove,
	} {
		mux.Handle("POST "+path, h.page(h.crossOrigin.Handler(h.serve(fn))))
	}
}

// passkeySection lists the person's passkeys and starts a registration
// ceremony (its challenge in the ceremony cookie, bound to the person);
// nil when passkeys are off.
func (h *Handler) passkeySection(w http.ResponseWriter, r *http.Request, u *storage.User) (*view.PasskeySection, error) {
	if h.passkeys == nil {
		return nil, nil
	}
	creds, err := h.store.ListWebAuthnCredentials(r.Context(), u.ID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	loc := i18n.For(r.Context())
	s := &view.PasskeySection{}
	for _, c := range creds {
		it := view.PasskeyItem{ID: credentialName(c.ID), Name: c.Name, Created: loc.Time(c.CreatedAt), Synced: c.BackupEligible}
		if !c.LastUsedAt.IsZero() {
			it.LastUsed = loc.Time(c.LastUsedAt)
		}
		s.Items = append(s.Items, it)
	}
	pu := passkeyUser{u: u, creds: creds}
	// Discoverable (a passkey), so it can sign in without a username
	// (WebAuthn §5.4.6 residentKey "required"); existing ones excluded
	// so one authenticator is not registered twice (§5.4 excludeCredentials).
	opts, sd, err := h.passkeys.BeginRegistration(pu,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, UserVerification: protocol.VerificationPreferred}),
		webauthn.WithExclusions(pu.descriptors()))
	if err != nil {
		return nil, fmt.Errorf("begin passkey registration: %w", err)
	}
	h.saveCeremony(w, ceremonyRegister, u.ID, sd)
	s.Options = optionsJSON(opts)
	return s, nil
}

// passkeyName checks a name from a form: trimmed, 1 to maxPasskeyName
// characters, printable.
func passkeyName(v string) (string, bool) {
	v = strings.TrimSpace(v)
	n := utf8.RuneCountInString(v)
	if n == 0 || n > maxPasskeyName || !utf8.ValidString(v) ||
		strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", false
	}
	return v, true
}

// postPasskeyRegister verifies an attestation against the challenge of
// this person's ceremony (go-webauthn: WebAuthn §7.1) and stores the new
// credential under the given name.
func (h *Handler) postPasskeyRegister(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxCredentialJSON+maxFormBytes)
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	_, u, err := h.signedIn(r, true)
	if err != nil {
		return err
	}
	if h.passkeys == nil {
		return errInvalidForm(errors.New("passkeys are off"))
	}
	ctx := r.Context()
	sd, ok := h.takeCeremony(w, r, ceremonyRegister, u.ID)
	if !ok {
		return h.renderSecurity(w, r, http.StatusBadRequest, u, nil, nil, passkeyExpired)
	}
	name, ok := passkeyName(r.PostForm.Get("name"))
	if !ok {
		return h.renderSecurity(w, r, http.StatusBadRequest, u, nil, nil, passkeyNameBad)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(r.PostForm.Get("credential")))
	if err != nil {
		return h.renderSecurity(w, r, http.StatusBadRequest, u, nil, nil, passkeyNotAdded)
	}
	creds, err := h.store.ListWebAuthnCredentials(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("list passkeys: %w", err)
	}
	c, err := h.passkeys.CreateCredential(passkeyUser{u: u, creds: creds}, sd, parsed)
	if err != nil {
		h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionPasskeyAdd, ActorID: u.ID, Actor: u.Username,
			Target: "user:" + u.ID, Address: h.clientAddr(r), Detail: "refused: " + protocolReason(err)})
		return h.renderSecurity(w, r, http.StatusBadRequest, u, nil, nil, passkeyNotAdded)
	}
	rec := &storage.WebAuthnCredential{ID: c.ID, UserID: u.ID, PublicKey: c.PublicKey, SignCount: c.Authenticator.SignCount,
		BackupEligible: c.Flags.BackupEligible, BackupState: c.Flags.BackupState, AAGUID: c.Authenticator.AAGUID,
		Name: name, CreatedAt: h.now().UTC()}
	for _, t := range c.Transport {
		rec.Transports = append(rec.Transports, string(t))
	}
	err = h.store.AddWebAuthnCredential(ctx, rec)
	if errors.Is(err, storage.ErrAlreadyExists) {
		return h.renderSecurity(w, r, http.StatusConflict, u, nil, nil, passkeyDuplicate)
	}
	if err != nil {
		return fmt.Errorf("add passkey: %w", err)
	}
	h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionPasskeyAdd, ActorID: u.ID, Actor: u.Username,
		Target: "passkey:" + credentialName(c.ID), Address: h.clientAddr(r), Detail: "registered passkey " + name})
	http.Redirect(w, r, securityPath, http.StatusSeeOther)
	return nil
}

// formCredentialID is the credential_id of a rename or remove form.
func formCredentialID(r *http.Request) ([]byte, bool) {
	id, err := base64.RawURLEncoding.DecodeString(r.PostForm.Get("credential_id"))
	return id, err == nil && len(id) > 0 && len(id) <= 1023
}

// postPasskeyRename renames one of the person's passkeys.
func (h *Handler) postPasskeyRename(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	_, u, err := h.signedIn(r, true)
	if err != nil {
		return err
	}
	id, ok := formCredentialID(r)
	if !ok {
		return errInvalidForm(errors.New("bad credential_id"))
	}
	name, ok := passkeyName(r.PostForm.Get("name"))
	if !ok {
		return h.renderSecurity(w, r, http.StatusBadRequest, u, nil, nil, passkeyNameBad)
	}
	ctx := r.Context()
	err = h.store.RenameWebAuthnCredential(ctx, u.ID, id, name)
	if errors.Is(err, storage.ErrNotFound) { // removed meanwhile, or not theirs
		http.Redirect(w, r, securityPath, http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return fmt.Errorf("rename passkey: %w", err)
	}
	h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionPasskeyRename, ActorID: u.ID, Actor: u.Username,
		Target: "passkey:" + credentialName(id), Address: h.clientAddr(r), Detail: "renamed passkey to " + name})
	http.Redirect(w, r, securityPath, http.StatusSeeOther)
	return nil
}

// postPasskeyRemove removes one of the person's passkeys, unless it is
// their last second factor and the administrators rule needs one.
func (h *Handler) postPasskeyRemove(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	_, u, err := h.signedIn(r, true)
	if err != nil {
		return err
	}
	id, ok := formCredentialID(r)
	if !ok {
		return errInvalidForm(errors.New("bad credential_id"))
	}
	ctx := r.Context()
	if h.adminsMFA && u.Admin {
		last, err := h.lastFactor(r, u.ID)
		if err != nil {
			return err
		}
		if last {
			return fail(http.StatusForbidden, factorNeededT, factorNeededD, nil)
		}
	}
	err = h.store.DeleteWebAuthnCredential(ctx, u.ID, id)
	if errors.Is(err, storage.ErrNotFound) {
		http.Redirect(w, r, securityPath, http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove passkey: %w", err)
	}
	h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionPasskeyRemove, ActorID: u.ID, Actor: u.Username,
		Target: "passkey:" + credentialName(id), Address: h.clientAddr(r), Detail: "removed a passkey"})
	http.Redirect(w, r, securityPath, http.StatusSeeOther)
	return nil
}

// lastFactor reports whether the person has one second factor at most:
// no confirmed TOTP and at most one passkey.
func (h *Handler) lastFactor(r *http.Request, userID string) (bool, error) {
	ctx := r.Context()
	t, err := h.store.GetTOTP(ctx, userID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return false, fmt.Errorf("get totp: %w", err)
	}
	if err == nil && t.Confirmed() {
		return false, nil
	}
	creds, err := h.store.ListWebAuthnCredentials(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("list passkeys: %w", err)
	}
	return len(creds) <= 1, nil
}
