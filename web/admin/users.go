package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/userpolicy"
	"github.com/monban-idp/monban/web"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/view"
)

// Sign-out reasons logged when a console change ends a user's sessions
// (the values of session.ReasonUserDisabled and the CLI's password change).
const (
	reasonUserDisabled    = "user_disabled"
	reasonPasswordChanged = "password_changed"
	reasonForcedLogout    = "forced_logout"
)

// listUsers shows one page of users in username order, or of those whose
// username, e-mail address or name starts with the search: one statement
// for the page and, without a search, one for the count.
func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, a *admin) {
	ctx := r.Context()
	frame := h.frame(a, "admin.users.title", "users")
	t := view.AdminTable{Heads: tr(ctx, "admin.user.username", "admin.user.name", "admin.user.email", "admin.users.admin", "admin.users.disabled"),
		Empty: i18n.T(ctx, "admin.users.none")}
	q, ok := readListQuery(r, "q")
	if !ok {
		t.Empty = i18n.T(ctx, "admin.list.bad_cursor")
		h.render(w, r, http.StatusBadRequest, view.AdminUserList(frame, "", t, view.AdminPager{}))
		return
	}
	users, err := h.store.ListUsersPage(ctx, storage.UserQuery{Search: q.search, After: q.after, Before: q.before, Limit: pageSize + 1})
	if err != nil {
		h.storeError(w, r, "list users", err)
		return
	}
	more := len(users) > pageSize
	if more {
		if q.before != "" {
			users = users[1:]
		} else {
			users = users[:pageSize]
		}
	}
	for _, u := range users {
		t.Rows = append(t.Rows, []view.AdminCell{
			{Text: u.Username, Href: userPath(u.ID)},
			{Text: u.Name}, {Text: u.Email}, {Text: yesNo(ctx, u.Admin)}, {Text: yesNo(ctx, u.Disabled)},
		})
	}
	extra := url.Values{}
	if q.search != "" {
		extra.Set("q", q.search)
	}
	var first, last string
	if len(users) > 0 {
		first, last = users[0].Username, users[len(users)-1].Username
	}
	p := pagerLinks("/admin/users", extra, q, len(users), more, first, last, true)
	if q.search == "" {
		c, err := h.store.CountRows(ctx)
		if err != nil {
			h.storeError(w, r, "count rows", err)
			return
		}
		p.Count = view.ListCount(ctx, c.Users, c.Estimated)
	}
	h.render(w, r, http.StatusOK, view.AdminUserList(frame, q.search, t, p))
}

func userPath(id string) string { return "/admin/users/" + url.PathEscape(id) }

func (h *Handler) newUserForm(w http.ResponseWriter, r *http.Request, a *admin) {
	h.render(w, r, http.StatusOK, view.AdminUser(h.frame(a, "admin.user.new_title", "users"),
		view.AdminUserForm{New: true, CSRFToken: h.pages.CSRFToken(w, r)}))
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, a *admin) {
	f := r.PostForm
	// Taken as typed: userpolicy decides, as it does for the CLI.
	u := &storage.User{ID: storage.NewID(), Username: f.Get("username"), Name: f.Get("name"), Email: f.Get("email")}
	pw := f.Get("password")
	errs := userFormErrors(r.Context(), append(userpolicy.ValidateUser(u), userpolicy.CheckPassword(pw, u)...))
	form := view.AdminUserForm{New: true, Username: u.Username, Name: u.Name, Email: u.Email}
	if len(errs) == 0 {
		if h.hasher == nil {
			h.storeError(w, r, "hash password", errors.New("no password hasher configured"))
			return
		}
		hash, err := h.hasher.Hash(pw)
		if err != nil {
			h.storeError(w, r, "hash password", err)
			return
		}
		now := h.now().UTC()
		u.PasswordHash, u.CreatedAt, u.UpdatedAt = hash, now, now
		err = h.change(r, a, "user.create", "user:"+u.ID, nil, userSnapshot(u),
			func(tx storage.Store) error { return tx.CreateUser(r.Context(), u) })
		switch {
		case errors.Is(err, storage.ErrAlreadyExists):
			errs["username"] = append(errs["username"], i18n.T(r.Context(), "admin.err.username_taken"))
		case err != nil:
			h.storeError(w, r, "create user", err)
			return
		default:
			http.Redirect(w, r, userPath(u.ID)+"?created=1", http.StatusSeeOther)
			return
		}
	}
	form.CSRFToken, form.Errors = h.pages.CSRFToken(w, r), errs
	h.render(w, r, http.StatusUnprocessableEntity, view.AdminUser(h.frame(a, "admin.user.new_title", "users"), form))
}

// loadUser returns the user named in the path, or writes 404.
func (h *Handler) loadUser(w http.ResponseWriter, r *http.Request, a *admin) *storage.User {
	u, err := h.store.GetUser(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) {
		h.notFound(w, r, a, "admin.not_found.user")
		return nil
	}
	if err != nil {
		h.storeError(w, r, "get user", err)
		return nil
	}
	return u
}

func (h *Handler) userForm(w http.ResponseWriter, r *http.Request, a *admin, u *storage.User) (view.AdminUserForm, bool) {
	sessions, err := h.store.ListUserSessions(r.Context(), u.ID)
	if err != nil {
		h.storeError(w, r, "list sessions", err)
		return view.AdminUserForm{}, false
	}
	consents, err := h.userConsents(r, u.ID)
	if err != nil {
		h.storeError(w, r, "list consents", err)
		return view.AdminUserForm{}, false
	}
	factors, err := h.userFactors(r.Context(), a, u)
	if err != nil {
		h.storeError(w, r, "list factors", err)
		return view.AdminUserForm{}, false
	}
	linked, err := h.pages.LinkedIdentities(r.Context(), u.ID)
	if err != nil {
		h.storeError(w, r, "list linked identities", err)
		return view.AdminUserForm{}, false
	}
	return view.AdminUserForm{CSRFToken: h.pages.CSRFToken(w, r), ID: u.ID, Username: u.Username, Name: u.Name,
		Email: u.Email, Admin: u.Admin, Disabled: u.Disabled, Sessions: len(sessions), Created: stamp(r.Context(), u.CreatedAt),
		Self: u.ID == a.user.ID, Consents: consents, Profile: profileOf(u), Groups: u.Groups, Factors: factors,
		Linked: linked}, true
}

func (h *Handler) showUser(w http.ResponseWriter, r *http.Request, a *admin) {
	u := h.loadUser(w, r, a)
	if u == nil {
		return
	}
	f, ok := h.userForm(w, r, a, u)
	if !ok {
		return
	}
	switch {
	case r.URL.Query().Has("created"):
		f.Notice = i18n.T(r.Context(), "admin.notice.user_created")
	case r.URL.Query().Has("saved"):
		f.Notice = i18n.T(r.Context(), "admin.notice.saved")
	}
	h.render(w, r, http.StatusOK, view.AdminUser(h.frame(a, "admin.user.title", "users", "Name", u.Username), f))
}

// userFormErrors files userpolicy's problems under the user form's
// fields in the page's language; the form shows those it has no field
// for above it.
func userFormErrors(ctx context.Context, fe storage.FieldErrors) map[string][]string {
	errs := map[string][]string{}
	for _, e := range fe {
		switch e.Field {
		case userpolicy.FieldUsername, userpolicy.FieldPassword:
			errs[e.Field] = append(errs[e.Field], web.FieldMessage(ctx, e))
		default:
			errs[""] = append(errs[""], web.FieldMessage(ctx, e))
		}
	}
	return errs
}

// changeUser applies change to the user in the path, in the transaction
// that writes it and its audit entry, under the user's row lock
// (storage.Users.UpdateUser): a concurrent change of other fields (a
// sign-in rehash, the CLI) is kept. With a sign-out reason it then ends
// the user's sessions.
func (h *Handler) changeUser(w http.ResponseWriter, r *http.Request, a *admin, action, signOut string, change func(*storage.User)) {
	id := r.PathValue("id")
	if action != "user.password" && h.refuseOwnAccount(w, r, a, id) {
		return
	}
	if signOut != "" && h.sessions == nil {
		h.storeError(w, r, "end sessions", errors.New("no session ender configured"))
		return
	}
	now := h.now().UTC()
	err := h.update(r, a, action, "user:"+id, func(tx storage.Store) (any, any, error) {
		var before storage.User
		after, err := tx.UpdateUser(r.Context(), id, func(u *storage.User) error {
			before = *u
			change(u)
			u.UpdatedAt = now
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		if action == "user.revoke_admin" || action == "user.disable" {
			if err := guardLastAdmin(r, tx); err != nil {
				return nil, nil, err
			}
		}
		return userSnapshot(&before), userSnapshot(after), nil
	})
	if errors.Is(err, errLastAdmin) {
		h.lastAdmin(w, r, a, id)
		return
	} else if errors.Is(err, storage.ErrNotFound) {
		h.notFound(w, r, a, "admin.not_found.user")
		return
	} else if err != nil {
		h.storeError(w, r, "update user", err)
		return
	}
	// Ending the sessions comes after the committed change: a disabled
	// user's sessions stop working at once anyway (the browser pages and
	// the token path check the user), and session.Manager's back-channel logout
	// has its own transaction and outbox.
	if signOut != "" {
		if _, err := h.sessions.EndUserSessions(r.Context(), id, signOut); err != nil {
			h.storeError(w, r, "end user sessions", err)
			return
		}
	}
	http.Redirect(w, r, userPath(id)+"?saved=1", http.StatusSeeOther)
}

func (h *Handler) setPassword(w http.ResponseWriter, r *http.Request, a *admin) {
	u := h.loadUser(w, r, a)
	if u == nil {
		return
	}
	pw := r.PostForm.Get("password")
	if fe := userpolicy.CheckPassword(pw, u); len(fe) > 0 {
		f, ok := h.userForm(w, r, a, u)
		if !ok {
			return
		}
		f.Errors = userFormErrors(r.Context(), fe)
		h.render(w, r, http.StatusUnprocessableEntity, view.AdminUser(h.frame(a, "admin.user.title", "users", "Name", u.Username), f))
		return
	}
	if h.hasher == nil {
		h.storeError(w, r, "hash password", errors.New("no password hasher configured"))
		return
	}
	hash, err := h.hasher.Hash(pw)
	if err != nil {
		h.storeError(w, r, "hash password", err)
		return
	}
	h.changeUser(w, r, a, "user.password", reasonPasswordChanged, func(u *storage.User) { u.PasswordHash = hash })
}

func (h *Handler) setDisabled(w http.ResponseWriter, r *http.Request, a *admin) {
	if r.PostForm.Get("disabled") == "1" {
		if h.refuseOwnAccount(w, r, a, r.PathValue("id")) { // before asking: the answer would be no
			return
		}
		if r.PostForm.Get("confirm") != "1" { // the user page's button: ask first
			if u := h.loadUser(w, r, a); u != nil {
				h.renderDisableConfirm(w, r, a, u)
			}
			return
		}
		h.changeUser(w, r, a, "user.disable", reasonUserDisabled, func(u *storage.User) { u.Disabled = true })
		return
	}
	h.changeUser(w, r, a, "user.enable", "", func(u *storage.User) { u.Disabled = false })
}

// logoutEverywhere ends every session of the user and revokes all their
// refresh tokens, offline ones included; the apps those sessions served get
// back-channel logout tokens (the same session.Manager path as the CLI's
// "user logout-everywhere").
func (h *Handler) logoutEverywhere(w http.ResponseWriter, r *http.Request, a *admin) {
	h.changeUser(w, r, a, "user.logout_everywhere", reasonForcedLogout, func(*storage.User) {})
}

func (h *Handler) setAdmin(w http.ResponseWriter, r *http.Request, a *admin) {
	if r.PostForm.Get("admin") == "1" {
		h.changeUser(w, r, a, "user.grant_admin", "", func(u *storage.User) { u.Admin = true })
		return
	}
	h.changeUser(w, r, a, "user.revoke_admin", "", func(u *storage.User) { u.Admin = false })
}

// refuseOwnAccount answers an administrator's change of their own access
// (disable, demote, delete, log out everywhere) with the "not on your own
// account" page (userpolicy.CheckAccessChange) and reports whether it did.
func (h *Handler) refuseOwnAccount(w http.ResponseWriter, r *http.Request, a *admin, id string) bool {
	if len(userpolicy.CheckAccessChange(a.user.ID, id)) == 0 {
		return false
	}
	h.message(w, r, http.StatusBadRequest, a, "admin.msg.own_account.title",
		"admin.msg.own_account.detail", userPath(id), "admin.back")
	return true
}
