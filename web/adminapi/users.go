package adminapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
	"github.com/monban-idp/monban/storage/userpolicy"
)

// Sign-out reasons (the console's and the CLI's).
const (
	reasonUserDisabled    = "user_disabled"
	reasonPasswordChanged = "password_changed"
	reasonForcedLogout    = "forced_logout"
	reasonUserDeleted     = "user_deleted"
)

// User is a user as the API shows it: the standard claims of OIDC Core
// §5.1 under their claim names, custom attributes, the administrator and
// disabled flags, the groups (read only: change them through the
// groups' members) and whether a password is set. The password hash is
// never shown.
type User struct {
	ID                  string                            `json:"id"`
	Username            string                            `json:"username"`
	Email               string                            `json:"email"`
	EmailVerified       bool                              `json:"email_verified"`
	Name                string                            `json:"name"`
	GivenName           string                            `json:"given_name"`
	FamilyName          string                            `json:"family_name"`
	MiddleName          string                            `json:"middle_name"`
	Nickname            string                            `json:"nickname"`
	PreferredUsername   string                            `json:"preferred_username"`
	Profile             string                            `json:"profile"`
	Picture             string                            `json:"picture"`
	Website             string                            `json:"website"`
	Gender              string                            `json:"gender"`
	Birthdate           string                            `json:"birthdate"`
	Zoneinfo            string                            `json:"zoneinfo"`
	Locale              string                            `json:"locale"`
	PhoneNumber         string                            `json:"phone_number"`
	PhoneNumberVerified bool                              `json:"phone_number_verified"`
	Address             storage.Address                   `json:"address"`
	Attributes          map[string]storage.AttributeValue `json:"attributes"`
	Admin               bool                              `json:"admin"`
	Disabled            bool                              `json:"disabled"`
	Groups              []string                          `json:"groups"`
	HasPassword         bool                              `json:"has_password"`
	CreatedAt           time.Time                         `json:"created_at"`
	UpdatedAt           time.Time                         `json:"updated_at"`
}

func userView(u *storage.User) User {
	attrs := u.Attributes
	if attrs == nil {
		attrs = map[string]storage.AttributeValue{}
	}
	return User{ID: u.ID, Username: u.Username, Email: u.Email, EmailVerified: u.EmailVerified, Name: u.Name,
		GivenName: u.GivenName, FamilyName: u.FamilyName, MiddleName: u.MiddleName, Nickname: u.Nickname,
		PreferredUsername: u.PreferredUsername, Profile: u.Profile, Picture: u.Picture, Website: u.Website,
		Gender: u.Gender, Birthdate: u.Birthdate, Zoneinfo: u.Zoneinfo, Locale: u.Locale, PhoneNumber: u.PhoneNumber,
		PhoneNumberVerified: u.PhoneNumberVerified, Address: u.Address, Attributes: attrs, Admin: u.Admin,
		Disabled: u.Disabled, Groups: orEmpty(u.Groups), HasPassword: u.PasswordHash != "",
		CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
}

// userTag is a user's ETag: its view without the groups (an updater's
// copy of a user need not carry them) and its password hash.
func userTag(u *storage.User) string {
	v := userView(u)
	v.Groups = nil
	return etag(struct {
		V User
		P string
	}{v, u.PasswordHash})
}

// UserWrite is the body of POST /users (username required) and of PATCH
// /users/{id} (a field present replaces the stored value). password,
// when present, sets a new password (checked by userpolicy; on PATCH it
// ends the user's sessions). Disabling is its own operation
// (POST /users/{id}/disable), as it ends the user's sessions.
type UserWrite struct {
	Username            *string                            `json:"username"`
	Email               *string                            `json:"email"`
	EmailVerified       *bool                              `json:"email_verified"`
	Name                *string                            `json:"name"`
	GivenName           *string                            `json:"given_name"`
	FamilyName          *string                            `json:"family_name"`
	MiddleName          *string                            `json:"middle_name"`
	Nickname            *string                            `json:"nickname"`
	PreferredUsername   *string                            `json:"preferred_username"`
	Profile             *string                            `json:"profile"`
	Picture             *string                            `json:"picture"`
	Website             *string                            `json:"website"`
	Gender              *string                            `json:"gender"`
	Birthdate           *string                            `json:"birthdate"`
	Zoneinfo            *string                            `json:"zoneinfo"`
	Locale              *string                            `json:"locale"`
	PhoneNumber         *string                            `json:"phone_number"`
	PhoneNumberVerified *bool                              `json:"phone_number_verified"`
	Address             *storage.Address                   `json:"address"`
	Attributes          *map[string]storage.AttributeValue `json:"attributes"`
	Admin               *bool                              `json:"admin"`
	Password            *string                            `json:"password"`
}

func (wr *UserWrite) apply(u *storage.User) {
	for _, f := range []struct {
		dst *string
		v   *string
	}{
		{&u.Username, wr.Username}, {&u.Email, wr.Email}, {&u.Name, wr.Name}, {&u.GivenName, wr.GivenName},
		{&u.FamilyName, wr.FamilyName}, {&u.MiddleName, wr.MiddleName}, {&u.Nickname, wr.Nickname},
		{&u.PreferredUsername, wr.PreferredUsername}, {&u.Profile, wr.Profile}, {&u.Picture, wr.Picture},
		{&u.Website, wr.Website}, {&u.Gender, wr.Gender}, {&u.Birthdate, wr.Birthdate}, {&u.Zoneinfo, wr.Zoneinfo},
		{&u.Locale, wr.Locale}, {&u.PhoneNumber, wr.PhoneNumber},
	} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	for _, f := range []struct {
		dst *bool
		v   *bool
	}{{&u.EmailVerified, wr.EmailVerified}, {&u.PhoneNumberVerified, wr.PhoneNumberVerified}, {&u.Admin, wr.Admin}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if wr.Address != nil {
		u.Address = *wr.Address
	}
	if wr.Attributes != nil {
		u.Attributes = storage.CloneAttributes(*wr.Attributes)
	}
}

// validateUser is userpolicy's rule set, the password's included.
func validateUser(u *storage.User, password *string) storage.FieldErrors {
	errs := append(userpolicy.ValidateUser(u), userpolicy.ValidateAttributes(u.Attributes)...)
	if password != nil {
		errs = append(errs, userpolicy.CheckPassword(*password, u)...)
	}
	return errs
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, _ *caller) {
	limit, after, ok := page(w, r)
	if !ok {
		return
	}
	q := r.URL.Query().Get("q")
	if len(q) > maxCursor {
		writeProblem(w, http.StatusBadRequest, probBadRequest, "q is too long.")
		return
	}
	rows, err := h.cfg.Store.ListUsersPage(r.Context(), storage.UserQuery{Search: q, After: after, Limit: limit + 1})
	if err != nil {
		h.fail(w, r, "list users", err)
		return
	}
	rows, more := trim(rows, limit)
	out := List[User]{Items: []User{}}
	for _, u := range rows {
		out.Items = append(out.Items, userView(u))
	}
	if more {
		out.Next = cursor(rows[len(rows)-1].Username)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, _ *caller) {
	u, err := h.cfg.Store.GetUser(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) {
		writeProblem(w, http.StatusNotFound, probNotFound, "No user has this ID.")
		return
	} else if err != nil {
		h.fail(w, r, "get user", err)
		return
	}
	w.Header().Set("ETag", userTag(u))
	writeJSON(w, http.StatusOK, userView(u))
}

// hash hashes a password, or answers 503.
func (h *Handler) hash(w http.ResponseWriter, r *http.Request, pw string) (string, bool) {
	if h.cfg.Hasher == nil {
		h.fail(w, r, "hash password", errors.New("no password hasher configured"))
		return "", false
	}
	hash, err := h.cfg.Hasher.Hash(pw)
	if err != nil {
		h.fail(w, r, "hash password", err)
		return "", false
	}
	return hash, true
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, cl *caller) {
	var wr UserWrite
	if !decode(w, r, &wr, false) {
		return
	}
	u := &storage.User{ID: storage.NewID()}
	wr.apply(u)
	if fe := clientpolicy.CheckUserPrivilege(cl.scopes, nil, u); len(fe) > 0 {
		writeForbidden(w, fe)
		return
	}
	if errs := validateUser(u, wr.Password); len(errs) > 0 {
		writeInvalid(w, errs)
		return
	}
	if wr.Password != nil {
		hash, ok := h.hash(w, r, *wr.Password)
		if !ok {
			return
		}
		u.PasswordHash = hash
	}
	now := h.now().UTC()
	u.CreatedAt, u.UpdatedAt = now, now
	err := h.change(r, cl, "user.create", "user:"+u.ID, func(tx storage.Store) (any, any, error) {
		return nil, storage.UserSnapshot(u), tx.CreateUser(r.Context(), u)
	})
	if errors.Is(err, storage.ErrAlreadyExists) {
		writeProblem(w, http.StatusConflict, probConflict, "A user with this username exists already.")
		return
	} else if err != nil {
		h.fail(w, r, "create user", err)
		return
	}
	w.Header().Set("Location", Prefix+"/users/"+u.ID)
	w.Header().Set("ETag", userTag(u))
	writeJSON(w, http.StatusCreated, userView(u))
}

// errLastAdmin refuses a change that leaves no enabled administrator
// (the console's and the CLI's guard).
var errLastAdmin = errors.New("last enabled administrator")

// changeUser changes the user of the path through fn under its row lock,
// after the If-Match check, with its audit entry; a change the caller's
// scopes may not make (clientpolicy.CheckUserPrivilege, on the locked
// row before and after fn) and a change that leaves no enabled
// administrator are refused in the same transaction. With a
// sign-out reason it then ends the user's sessions (as the console does:
// after the commit, through the session owner). It answers every
// outcome.
func (h *Handler) changeUser(w http.ResponseWriter, r *http.Request, cl *caller, action, signOut string, fn func(*storage.User) error) {
	id := r.PathValue("id")
	tags := ifMatch(r)
	if signOut != "" && h.cfg.Sessions == nil {
		h.fail(w, r, "end sessions", errors.New("no session ender configured"))
		return
	}
	now := h.now().UTC()
	var after *storage.User
	err := h.change(r, cl, action, "user:"+id, func(tx storage.Store) (any, any, error) {
		var before storage.User
		var err error
		after, err = tx.UpdateUser(r.Context(), id, func(u *storage.User) error {
			if err := checkMatch(tags, userTag(u)); err != nil {
				return err
			}
			if fe := clientpolicy.CheckUserPrivilege(cl.scopes, u, nil); len(fe) > 0 {
				return &forbidden{fe}
			}
			before = *u
			if err := fn(u); err != nil {
				return err
			}
			if fe := clientpolicy.CheckUserPrivilege(cl.scopes, &before, u); len(fe) > 0 {
				return &forbidden{fe}
			}
			u.UpdatedAt = now
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		if before.Admin && !before.Disabled && (!after.Admin || after.Disabled) {
			if n, err := tx.CountEnabledAdmins(r.Context()); err != nil {
				return nil, nil, err
			} else if n == 0 {
				return nil, nil, errLastAdmin
			}
		}
		return storage.UserSnapshot(&before), storage.UserSnapshot(after), nil
	})
	var inv *invalid
	var fb *forbidden
	switch {
	case err == nil:
	case errors.As(err, &fb):
		writeForbidden(w, fb.errs)
		return
	case errors.As(err, &inv):
		writeInvalid(w, inv.errs)
		return
	case errors.Is(err, errStale):
		writeStale(w)
		return
	case errors.Is(err, errLastAdmin):
		writeProblem(w, http.StatusConflict, probConflict, "This is the last enabled administrator; make another one first.")
		return
	case errors.Is(err, storage.ErrAlreadyExists):
		writeProblem(w, http.StatusConflict, probConflict, "A user with this username exists already.")
		return
	case errors.Is(err, storage.ErrNotFound):
		writeProblem(w, http.StatusNotFound, probNotFound, "No user has this ID.")
		return
	default:
		h.fail(w, r, action, err)
		return
	}
	if signOut != "" {
		if _, err := h.cfg.Sessions.EndUserSessions(r.Context(), id, signOut); err != nil {
			h.fail(w, r, "end user sessions", err)
			return
		}
	}
	w.Header().Set("ETag", userTag(after))
	writeJSON(w, http.StatusOK, userView(after))
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request, cl *caller) {
	var wr UserWrite
	if !decode(w, r, &wr, false) {
		return
	}
	var hash, signOut string
	if wr.Password != nil {
		// Hashed before the row lock (the updater must be quick); checked
		// against the user as stored inside it.
		var ok bool
		if hash, ok = h.hash(w, r, *wr.Password); !ok {
			return
		}
		signOut = reasonPasswordChanged
	}
	h.changeUser(w, r, cl, "user.update", signOut, func(u *storage.User) error {
		wr.apply(u)
		if errs := validateUser(u, wr.Password); len(errs) > 0 {
			return &invalid{errs}
		}
		if hash != "" {
			u.PasswordHash = hash
		}
		return nil
	})
}

func (h *Handler) disableUser(w http.ResponseWriter, r *http.Request, cl *caller) {
	if decode(w, r, &struct{}{}, true) {
		h.changeUser(w, r, cl, "user.disable", reasonUserDisabled, func(u *storage.User) error { u.Disabled = true; return nil })
	}
}

func (h *Handler) enableUser(w http.ResponseWriter, r *http.Request, cl *caller) {
	if decode(w, r, &struct{}{}, true) {
		h.changeUser(w, r, cl, "user.enable", "", func(u *storage.User) error { u.Disabled = false; return nil })
	}
}

// logoutUser ends every session of the user and revokes all their
// refresh tokens, offline ones included (the console's "log out
// everywhere").
func (h *Handler) logoutUser(w http.ResponseWriter, r *http.Request, cl *caller) {
	if decode(w, r, &struct{}{}, true) {
		h.changeUser(w, r, cl, "user.logout_everywhere", reasonForcedLogout, func(*storage.User) error { return nil })
	}
}

// deleteUser ends the user's sessions through the session owner, then
// deletes the user with its audit entry (as the console does); the last
// enabled administrator is never deleted. The If-Match check and the
// privilege rule (clientpolicy.CheckUserPrivilege) run first, so a
// refused caller ends no session, and again under the row lock of the
// deleting transaction.
func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, cl *caller) {
	id := r.PathValue("id")
	tags := ifMatch(r)
	u, err := h.cfg.Store.GetUser(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		writeProblem(w, http.StatusNotFound, probNotFound, "No user has this ID.")
		return
	} else if err != nil {
		h.fail(w, r, "get user", err)
		return
	}
	if checkMatch(tags, userTag(u)) != nil {
		writeStale(w)
		return
	}
	if fe := clientpolicy.CheckUserPrivilege(cl.scopes, u, nil); len(fe) > 0 {
		writeForbidden(w, fe)
		return
	}
	if h.cfg.Sessions == nil {
		h.fail(w, r, "end sessions", errors.New("no session ender configured"))
		return
	}
	if u.Admin && !u.Disabled {
		if n, err := h.cfg.Store.CountEnabledAdmins(r.Context()); err != nil {
			h.fail(w, r, "count admins", err)
			return
		} else if n <= 1 {
			writeProblem(w, http.StatusConflict, probConflict, "This is the last enabled administrator; make another one first.")
			return
		}
	}
	// Sessions end first, through the session owner, so their apps get
	// back-channel logout (DeleteUser removes the sessions).
	if _, err := h.cfg.Sessions.EndUserSessions(r.Context(), id, reasonUserDeleted); err != nil {
		h.fail(w, r, "end user sessions", err)
		return
	}
	err = h.change(r, cl, "user.delete", "user:"+id, func(tx storage.Store) (any, any, error) {
		before, err := tx.UpdateUser(r.Context(), id, func(u *storage.User) error {
			if err := checkMatch(tags, userTag(u)); err != nil {
				return err
			}
			if fe := clientpolicy.CheckUserPrivilege(cl.scopes, u, nil); len(fe) > 0 {
				return &forbidden{fe}
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		if err := tx.DeleteUser(r.Context(), id); err != nil {
			return nil, nil, err
		}
		if n, err := tx.CountEnabledAdmins(r.Context()); err != nil {
			return nil, nil, err
		} else if n == 0 && before.Admin && !before.Disabled {
			return nil, nil, errLastAdmin
		}
		return storage.UserSnapshot(before), nil, nil
	})
	var fb *forbidden
	switch {
	case errors.As(err, &fb):
		writeForbidden(w, fb.errs)
		return
	case errors.Is(err, errStale):
		writeStale(w)
		return
	case errors.Is(err, errLastAdmin):
		writeProblem(w, http.StatusConflict, probConflict, "This is the last enabled administrator; make another one first.")
		return
	case errors.Is(err, storage.ErrNotFound):
		writeProblem(w, http.StatusNotFound, probNotFound, "No user has this ID.")
		return
	case err != nil:
		h.fail(w, r, "delete user", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
