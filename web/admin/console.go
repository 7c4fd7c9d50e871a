package admin

import (
	"errors"
	"net/http"
	"strings"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/admin/snippets"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/view"
)

// reasonConsoleSignOut is the logged reason of a sign-out from the console.
const reasonConsoleSignOut = "logout"

// confirmSignOut is the console's sign-out page: GET asks, and its form
// posts with the CSRF token.
func (h *Handler) confirmSignOut(w http.ResponseWriter, r *http.Request, a *admin) {
	h.render(w, r, http.StatusOK, view.AdminConfirmForm(h.frame(a, "admin.signout.title", ""),
		i18n.T(r.Context(), "admin.signout.detail"), "/admin/signout", h.pages.CSRFToken(w, r),
		i18n.T(r.Context(), "admin.signout.button"), "/admin", nil, false))
}

// signOut ends the administrator's session the way a logout does (its
// refresh tokens revoked, back-channel logout to the apps it served),
// clears the cookie and shows the signed-out page.
func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, a *admin) {
	if h.sessions == nil {
		h.storeError(w, r, "end session", errors.New("no session ender configured"))
		return
	}
	if err := h.sessions.EndSession(r.Context(), a.session.ID, reasonConsoleSignOut); err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.storeError(w, r, "end session", err)
		return
	}
	h.pages.Sessions().Clear(w)
	http.Redirect(w, r, "/logged-out", http.StatusSeeOther)
}

// confirmDisableUser asks before disabling a user, as deleting a client
// does: disabling ends every session of theirs. The form posts confirm=1.
func (h *Handler) confirmDisableUser(w http.ResponseWriter, r *http.Request, a *admin) {
	u := h.loadUser(w, r, a)
	if u == nil {
		return
	}
	h.renderDisableConfirm(w, r, a, u)
}

func (h *Handler) renderDisableConfirm(w http.ResponseWriter, r *http.Request, a *admin, u *storage.User) {
	h.render(w, r, http.StatusOK, view.AdminConfirmForm(h.frame(a, "admin.user.disable_title", "users", "Name", u.Username),
		i18n.T(r.Context(), "admin.user.disable_detail"), userPath(u.ID)+"/disable", h.pages.CSRFToken(w, r),
		i18n.T(r.Context(), "admin.user.disable"), userPath(u.ID),
		[]view.AdminHidden{{Name: "disabled", Value: "1"}, {Name: "confirm", Value: "1"}}, true))
}

// confirmRotateSecret asks before rotating a client's secret; it is also
// where "sign in again" resumes a rotation that needed a fresh sign-in.
func (h *Handler) confirmRotateSecret(w http.ResponseWriter, r *http.Request, a *admin) {
	c := h.loadClient(w, r, a)
	if c == nil {
		return
	}
	h.render(w, r, http.StatusOK, view.AdminConfirmForm(h.frame(a, "admin.client.rotate_title", "clients", "ID", c.ID),
		i18n.T(r.Context(), "admin.client.rotate_detail"), clientPath(c.ID)+"/rotate-secret", h.pages.CSRFToken(w, r),
		i18n.T(r.Context(), "admin.client.rotate"), clientPath(c.ID), nil, true))
}

// clientDeleted is the notice after a deletion ("Client x deleted"). It
// only says so for a client that is indeed gone.
func (h *Handler) clientDeleted(w http.ResponseWriter, r *http.Request, a *admin) {
	id := r.PathValue("id")
	_, err := h.store.GetClient(r.Context(), id)
	switch {
	case err == nil:
		http.Redirect(w, r, clientPath(id), http.StatusSeeOther)
		return
	case !errors.Is(err, storage.ErrNotFound):
		h.storeError(w, r, "get client", err)
		return
	}
	ctx := r.Context()
	h.render(w, r, http.StatusOK, view.AdminNotice(h.frame(a, "admin.client.deleted_title", "clients"),
		i18n.T(ctx, "admin.notice.client_deleted", "ID", id), "/admin/clients", i18n.T(ctx, "admin.client.back_to_list")))
}

// developer is the developer section of a client's page: the issuer, its
// discovery URL and the configuration snippets for the client.
func (h *Handler) developer(c *storage.Client) *view.AdminClientDev {
	d := &view.AdminClientDev{Issuer: h.issuer, Discovery: h.issuer + "/.well-known/openid-configuration",
		ClientID: c.ID, RedirectURIs: c.RedirectURIs, Public: c.Public()}
	if !c.HasGrant("authorization_code") || len(c.RedirectURIs) == 0 {
		return d
	}
	all, err := snippets.For(snippets.App{Issuer: h.issuer, ClientID: c.ID, RedirectURI: c.RedirectURIs[0],
		Public: c.Public(), SecretPost: c.AuthMethod == storage.AuthMethodPost, Scopes: c.Scopes})
	if err != nil { // a template bug: the page still shows the facts
		h.log.Error("render integration snippets", "client", c.ID, "err", err)
		return d
	}
	for _, s := range all {
		d.Snippets = append(d.Snippets, view.AdminSnippet{ID: s.ID, Title: s.Title, File: s.File, Text: s.Text})
	}
	return d
}

// userConsents lists the user's consents for the user page.
func (h *Handler) userConsents(r *http.Request, userID string) ([]view.AdminConsentRow, error) {
	cs, err := h.store.ListUserConsents(r.Context(), userID)
	if err != nil {
		return nil, err
	}
	rows := make([]view.AdminConsentRow, 0, len(cs))
	for _, c := range cs {
		name := c.ClientID
		if cl, err := h.store.GetClient(r.Context(), c.ClientID); err == nil && cl.Name != "" {
			name = cl.Name
		}
		rows = append(rows, view.AdminConsentRow{ClientID: c.ClientID, ClientName: name,
			Scopes: strings.Join(c.Scopes, " "), GrantedAt: stamp(r.Context(), c.GrantedAt)})
	}
	return rows, nil
}

// revokeConsent withdraws a user's consent for a client: the consent is
// deleted and the client's refresh tokens of the user revoked, in one
// transaction with the audit entry. The app must ask again next time,
// and cannot refresh meanwhile; its access tokens expire on their own.
func (h *Handler) revokeConsent(w http.ResponseWriter, r *http.Request, a *admin) {
	userID, clientID := r.PathValue("id"), r.PathValue("client")
	ctx := r.Context()
	before, err := h.store.GetConsent(ctx, userID, clientID)
	if errors.Is(err, storage.ErrNotFound) {
		h.notFound(w, r, a, "admin.not_found.consent")
		return
	} else if err != nil {
		h.storeError(w, r, "get consent", err)
		return
	}
	err = h.change(r, a, "user.revoke_consent", "user:"+userID, before, map[string]string{"client": clientID},
		func(tx storage.Store) error {
			if err := tx.DeleteConsent(ctx, userID, clientID); err != nil {
				return err
			}
			return tx.RevokeUserClientRefreshTokens(ctx, userID, clientID, h.now().UTC())
		})
	if errors.Is(err, storage.ErrNotFound) {
		h.notFound(w, r, a, "admin.not_found.consent")
		return
	} else if err != nil {
		h.storeError(w, r, "revoke consent", err)
		return
	}
	http.Redirect(w, r, userPath(userID)+"?saved=1", http.StatusSeeOther)
}
