package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/view"
)

// reasonFactorsReset is logged when an administrator's factor reset ends
// the person's sessions (the CLI's "user reset-factors" uses the same).
const reasonFactorsReset = "factors_reset"

// userFactors is the user page's second-factor section (issue 17): the
// TOTP factor, the recovery codes left and the passkeys.
func (h *Handler) userFactors(ctx context.Context, a *admin, u *storage.User) (*view.AdminFactors, error) {
	f := &view.AdminFactors{TOTP: "admin.factors.totp_none"}
	switch t, err := h.store.GetTOTP(ctx, u.ID); {
	case err == nil:
		f.TOTP, f.TOTPSince = "admin.factors.totp_pending", stamp(ctx, t.CreatedAt)
		if t.Confirmed() {
			f.TOTP, f.TOTPConfirmed = "admin.factors.totp_confirmed", stamp(ctx, t.ConfirmedAt)
		}
	case !errors.Is(err, storage.ErrNotFound):
		return nil, fmt.Errorf("get totp: %w", err)
	}
	n, err := h.store.CountRecoveryCodes(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("count recovery codes: %w", err)
	}
	f.RecoveryLeft = n
	creds, err := h.store.ListWebAuthnCredentials(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	for _, c := range creds {
		row := view.AdminPasskeyRow{Name: c.Name, Created: stamp(ctx, c.CreatedAt), Synced: c.BackupEligible}
		if !c.LastUsedAt.IsZero() {
			row.LastUsed = stamp(ctx, c.LastUsedAt)
		}
		f.Passkeys = append(f.Passkeys, row)
	}
	f.CanReset = u.ID != a.user.ID && (f.TOTP != "admin.factors.totp_none" || n > 0 || len(creds) > 0)
	return f, nil
}

// confirmResetFactors asks before removing a person's factors; an
// administrator's own account is refused at once (they use their own
// security page).
func (h *Handler) confirmResetFactors(w http.ResponseWriter, r *http.Request, a *admin) {
	if h.refuseOwnAccount(w, r, a, r.PathValue("id")) {
		return
	}
	u := h.loadUser(w, r, a)
	if u == nil {
		return
	}
	ctx := r.Context()
	h.render(w, r, http.StatusOK, view.AdminConfirmBack(h.frame(a, "admin.factors.reset_title", "users", "Name", u.Username),
		i18n.T(ctx, "admin.factors.reset_detail"), userPath(u.ID)+"/reset-factors", h.pages.CSRFToken(w, r),
		i18n.T(ctx, "admin.factors.reset"), userPath(u.ID)))
}

// resetFactors removes every second factor of the person (TOTP, recovery
// codes, passkeys: a lost phone) in the transaction of its audit entry
// (factor.reset), then ends their sessions through the session owner
// (refresh tokens revoked, back-channel logout), as the CLI's "user
// reset-factors" does. Their next sign-in starts from the password and
// enrols again where a policy needs a factor.
func (h *Handler) resetFactors(w http.ResponseWriter, r *http.Request, a *admin) {
	if h.refuseOwnAccount(w, r, a, r.PathValue("id")) {
		return
	}
	if h.sessions == nil {
		h.storeError(w, r, "end sessions", errors.New("no session ender configured"))
		return
	}
	u := h.loadUser(w, r, a)
	if u == nil {
		return
	}
	ctx := r.Context()
	before, err := h.userFactors(ctx, a, u)
	if err != nil {
		h.storeError(w, r, "list factors", err)
		return
	}
	err = h.change(r, a, storage.ActionFactorReset, "user:"+u.ID, factorSnapshot(before), nil,
		func(tx storage.Store) error { return tx.DeleteFactors(ctx, u.ID) })
	if err != nil {
		h.storeError(w, r, "reset factors", err)
		return
	}
	if _, err := h.sessions.EndUserSessions(ctx, u.ID, reasonFactorsReset); err != nil {
		h.storeError(w, r, "end user sessions", err)
		return
	}
	http.Redirect(w, r, userPath(u.ID)+"?saved=1", http.StatusSeeOther)
}

// factorSnapshot is what the audit entry records as replaced: counts and
// names, never a secret.
func factorSnapshot(f *view.AdminFactors) map[string]any {
	names := make([]string, 0, len(f.Passkeys))
	for _, p := range f.Passkeys {
		names = append(names, p.Name)
	}
	return map[string]any{"totp": f.TOTP != "admin.factors.totp_none", "recovery_codes": f.RecoveryLeft, "passkeys": names}
}
