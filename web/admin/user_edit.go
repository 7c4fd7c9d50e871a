package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/userpolicy"
	"github.com/monban-idp/monban/web"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/view"
)

// reasonUserDeleted is logged when deleting a user ends their sessions
// (the CLI's "user delete" logs the same).
const reasonUserDeleted = "user_deleted"

// profileFields binds the edit form's text fields to the user's
// attributes (view.AdminProfileGroups names and orders them).
var profileFields = map[string]func(u *storage.User) *string{
	"username":               func(u *storage.User) *string { return &u.Username },
	"email":                  func(u *storage.User) *string { return &u.Email },
	"name":                   func(u *storage.User) *string { return &u.Name },
	"given_name":             func(u *storage.User) *string { return &u.GivenName },
	"middle_name":            func(u *storage.User) *string { return &u.MiddleName },
	"family_name":            func(u *storage.User) *string { return &u.FamilyName },
	"nickname":               func(u *storage.User) *string { return &u.Nickname },
	"preferred_username":     func(u *storage.User) *string { return &u.PreferredUsername },
	"profile":                func(u *storage.User) *string { return &u.Profile },
	"picture":                func(u *storage.User) *string { return &u.Picture },
	"website":                func(u *storage.User) *string { return &u.Website },
	"gender":                 func(u *storage.User) *string { return &u.Gender },
	"birthdate":              func(u *storage.User) *string { return &u.Birthdate },
	"zoneinfo":               func(u *storage.User) *string { return &u.Zoneinfo },
	"locale":                 func(u *storage.User) *string { return &u.Locale },
	"phone_number":           func(u *storage.User) *string { return &u.PhoneNumber },
	"address_formatted":      func(u *storage.User) *string { return &u.Address.Formatted },
	"address_street_address": func(u *storage.User) *string { return &u.Address.StreetAddress },
	"address_locality":       func(u *storage.User) *string { return &u.Address.Locality },
	"address_region":         func(u *storage.User) *string { return &u.Address.Region },
	"address_postal_code":    func(u *storage.User) *string { return &u.Address.PostalCode },
	"address_country":        func(u *storage.User) *string { return &u.Address.Country },
}

// profileOf is the edit form's values of u.
func profileOf(u *storage.User) view.AdminUserProfile {
	p := view.AdminUserProfile{Values: map[string]string{}, EmailVerified: u.EmailVerified, PhoneVerified: u.PhoneNumberVerified}
	for name, field := range profileFields {
		p.Values[name] = *field(u)
	}
	return p
}

// applyProfile sets the attributes of u from the edit form, as typed
// (userpolicy decides, as for the CLI); an absent text field clears it.
func applyProfile(u *storage.User, f url.Values) {
	for name, field := range profileFields {
		v := f.Get(name)
		if !strings.HasPrefix(name, "address_") || name == "address_formatted" || name == "address_street_address" {
			v = strings.TrimSpace(v)
		}
		*field(u) = v
	}
	u.EmailVerified = f.Get("email_verified") == "1"
	u.PhoneNumberVerified = f.Get("phone_number_verified") == "1"
}

// profileErrors files userpolicy's problems next to the edit form's
// fields in the page's language: a claim's problems under its field, the
// address's under the address, the rest above the form.
func profileErrors(ctx context.Context, fe storage.FieldErrors) map[string][]string {
	errs := map[string][]string{}
	for _, e := range fe {
		k := e.Field
		switch {
		case k == userpolicy.FieldAddress:
			k = "address_formatted"
		case profileFields[k] == nil:
			k = ""
		}
		errs[k] = append(errs[k], web.FieldMessage(ctx, e))
	}
	return errs
}

// profileRefused carries the form's problems out of the updater, which
// then writes nothing.
type profileRefused struct {
	user *storage.User
	errs map[string][]string
}

func (e *profileRefused) Error() string { return "user form refused" }

// updateUser saves the edit form under the user's row lock, in the
// transaction that writes the audit entry (storage.Users.UpdateUser).
func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request, a *admin) {
	id := r.PathValue("id")
	now := h.now().UTC()
	err := h.update(r, a, "user.update", "user:"+id, func(tx storage.Store) (any, any, error) {
		var before storage.User
		after, err := tx.UpdateUser(r.Context(), id, func(u *storage.User) error {
			before = *u
			applyProfile(u, r.PostForm)
			if fe := userpolicy.ValidateUser(u); len(fe) > 0 {
				c := *u
				return &profileRefused{user: &c, errs: profileErrors(r.Context(), fe)}
			}
			u.UpdatedAt = now
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		return userSnapshot(&before), userSnapshot(after), nil
	})
	var refused *profileRefused
	switch {
	case errors.As(err, &refused):
		h.renderUserForm(w, r, a, http.StatusUnprocessableEntity, refused.user, refused.errs)
		return
	case errors.Is(err, storage.ErrAlreadyExists):
		u := &storage.User{ID: id}
		applyProfile(u, r.PostForm)
		h.renderUserForm(w, r, a, http.StatusConflict, u, map[string][]string{
			"username": {i18n.T(r.Context(), "admin.err.username_taken")}})
		return
	case errors.Is(err, storage.ErrNotFound):
		h.notFound(w, r, a, "admin.not_found.user")
		return
	case err != nil:
		h.storeError(w, r, "update user", err)
		return
	}
	http.Redirect(w, r, userPath(id)+"?saved=1", http.StatusSeeOther)
}

// renderUserForm shows the user page with the edit form as typed and
// its problems; the rest of the page shows the user as stored.
func (h *Handler) renderUserForm(w http.ResponseWriter, r *http.Request, a *admin, status int, typed *storage.User, errs map[string][]string) {
	stored := h.loadUser(w, r, a)
	if stored == nil {
		return
	}
	f, ok := h.userForm(w, r, a, stored)
	if !ok {
		return
	}
	f.Profile, f.Errors = profileOf(typed), errs
	h.render(w, r, status, view.AdminUser(h.frame(a, "admin.user.title", "users", "Name", stored.Username), f))
}

// errLastAdmin refuses to leave the provider without an enabled
// administrator (the CLI's guard too).
var errLastAdmin = errors.New("last enabled administrator")

// guardLastAdmin refuses, inside the change's transaction, a change that
// leaves no enabled administrator: it runs after the change and counts
// what is left.
func guardLastAdmin(r *http.Request, tx storage.Store) error {
	n, err := tx.CountEnabledAdmins(r.Context())
	if err != nil {
		return err
	}
	if n == 0 {
		return errLastAdmin
	}
	return nil
}

func (h *Handler) lastAdmin(w http.ResponseWriter, r *http.Request, a *admin, id string) {
	h.message(w, r, http.StatusConflict, a, "admin.msg.last_admin.title", "admin.msg.last_admin.detail", userPath(id), "admin.back")
}

func (h *Handler) confirmDeleteUser(w http.ResponseWriter, r *http.Request, a *admin) {
	u := h.loadUser(w, r, a)
	if u == nil {
		return
	}
	if u.ID == a.user.ID {
		h.message(w, r, http.StatusBadRequest, a, "admin.msg.own_account.title",
			"admin.msg.own_account.detail", userPath(u.ID), "admin.back")
		return
	}
	ctx := r.Context()
	h.render(w, r, http.StatusOK, view.AdminConfirmBack(h.frame(a, "admin.user.delete_title", "users", "Name", u.Username),
		i18n.T(ctx, "admin.user.delete_detail"), userPath(u.ID)+"/delete", h.pages.CSRFToken(w, r),
		i18n.T(ctx, "admin.user.delete"), userPath(u.ID)))
}

// deleteUser ends the user's sessions through the session owner (refresh
// tokens revoked, back-channel logout enqueued for every app they
// served), then deletes the user with its audit entry; their access
// tokens are inactive at the next request (no user). The last enabled
// administrator is never deleted.
func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, a *admin) {
	u := h.loadUser(w, r, a)
	if u == nil {
		return
	}
	if len(userpolicy.CheckAccessChange(a.user.ID, u.ID)) > 0 {
		h.message(w, r, http.StatusBadRequest, a, "admin.msg.own_account.title",
			"admin.msg.own_account.detail", userPath(u.ID), "admin.back")
		return
	}
	if h.sessions == nil {
		h.storeError(w, r, "end sessions", errors.New("no session ender configured"))
		return
	}
	if u.Admin && !u.Disabled {
		n, err := h.store.CountEnabledAdmins(r.Context())
		if err != nil {
			h.storeError(w, r, "count admins", err)
			return
		}
		if n <= 1 {
			h.lastAdmin(w, r, a, u.ID)
			return
		}
	}
	if _, err := h.sessions.EndUserSessions(r.Context(), u.ID, reasonUserDeleted); err != nil {
		h.storeError(w, r, "end user sessions", err)
		return
	}
	err := h.change(r, a, "user.delete", "user:"+u.ID, userSnapshot(u), nil, func(tx storage.Store) error {
		if err := tx.DeleteUser(r.Context(), u.ID); err != nil {
			return err
		}
		return guardLastAdmin(r, tx)
	})
	switch {
	case errors.Is(err, errLastAdmin):
		h.lastAdmin(w, r, a, u.ID)
		return
	case errors.Is(err, storage.ErrNotFound):
		h.notFound(w, r, a, "admin.not_found.user")
		return
	case err != nil:
		h.storeError(w, r, "delete user", err)
		return
	}
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}
