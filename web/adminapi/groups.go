package adminapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/userpolicy"
)

// Group is a group as the API shows it; Members, its number of members,
// is set in lists only. Managed marks a group `monban apply` manages
// (and may delete with --prune).
type Group struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Managed     bool      `json:"managed"`
	Members     *int      `json:"members,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func groupView(g *storage.Group) Group {
	return Group{ID: g.ID, Name: g.Name, Description: g.Description, Managed: g.Managed,
		CreatedAt: g.CreatedAt.UTC(), UpdatedAt: g.UpdatedAt.UTC()}
}

func groupTag(g *storage.Group) string { return etag(groupView(g)) }

// GroupWrite is the body of POST /groups (name required) and PATCH
// /groups/{id} (a field present replaces the stored value, an absent one
// keeps it; a new name also renames the group in every client's
// allowed_groups).
type GroupWrite struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Managed     *bool   `json:"managed"`
}

// apply sets the fields w carries on g, but the name.
func (wr *GroupWrite) apply(g *storage.Group) {
	if wr.Description != nil {
		g.Description = *wr.Description
	}
	if wr.Managed != nil {
		g.Managed = *wr.Managed
	}
}

// Member is a member of a group.
type Member struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	Name     string `json:"name"`
}

// MemberWrite is the body of POST /groups/{id}/members: the user by ID
// or by username (exactly one).
type MemberWrite struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, _ *caller) {
	limit, after, ok := page(w, r)
	if !ok {
		return
	}
	out := List[Group]{Items: []Group{}}
	if name := r.URL.Query().Get("name"); name != "" {
		// An exact name: the one group, or none (automation looks groups
		// up by name).
		g, err := h.cfg.Store.GetGroupByName(r.Context(), name)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			h.fail(w, r, "get group", err)
			return
		}
		if g != nil && after == "" {
			out.Items = append(out.Items, groupView(g))
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	rows, err := h.cfg.Store.ListGroups(r.Context(), after, limit+1)
	if err != nil {
		h.fail(w, r, "list groups", err)
		return
	}
	rows, more := trim(rows, limit)
	for _, g := range rows {
		v := groupView(&g.Group)
		n := g.Members
		v.Members = &n
		out.Items = append(out.Items, v)
	}
	if more {
		out.Next = cursor(rows[len(rows)-1].Name)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) loadGroup(w http.ResponseWriter, r *http.Request) *storage.Group {
	g, err := h.cfg.Store.GetGroup(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) {
		writeProblem(w, http.StatusNotFound, probNotFound, "No group has this ID.")
		return nil
	} else if err != nil {
		h.fail(w, r, "get group", err)
		return nil
	}
	return g
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request, _ *caller) {
	if g := h.loadGroup(w, r); g != nil {
		w.Header().Set("ETag", groupTag(g))
		writeJSON(w, http.StatusOK, groupView(g))
	}
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request, cl *caller) {
	var wr GroupWrite
	if !decode(w, r, &wr, false) {
		return
	}
	now := h.now().UTC()
	g := &storage.Group{ID: storage.NewID(), CreatedAt: now, UpdatedAt: now}
	if wr.Name != nil {
		g.Name = *wr.Name
	}
	wr.apply(g)
	if errs := userpolicy.ValidateGroup(g); len(errs) > 0 {
		writeInvalid(w, errs)
		return
	}
	err := h.change(r, cl, "group.create", "group:"+g.ID, func(tx storage.Store) (any, any, error) {
		return nil, storage.GroupSnapshot(g), tx.CreateGroup(r.Context(), g)
	})
	if errors.Is(err, storage.ErrAlreadyExists) {
		writeProblem(w, http.StatusConflict, probConflict, "A group with this name exists already.")
		return
	} else if err != nil {
		h.fail(w, r, "create group", err)
		return
	}
	w.Header().Set("Location", Prefix+"/groups/"+g.ID)
	w.Header().Set("ETag", groupTag(g))
	writeJSON(w, http.StatusCreated, groupView(g))
}

// groupAnswer answers the error of a group change.
func (h *Handler) groupAnswer(w http.ResponseWriter, r *http.Request, op string, err error) {
	switch {
	case errors.Is(err, errStale):
		writeStale(w)
	case errors.Is(err, storage.ErrAlreadyExists):
		writeProblem(w, http.StatusConflict, probConflict, "A group with this name exists already.")
	case errors.Is(err, storage.ErrConflict):
		writeProblem(w, http.StatusConflict, probConflict, "A client's allowed_groups names this group; change the client first.")
	case errors.Is(err, storage.ErrNotFound):
		writeProblem(w, http.StatusNotFound, probNotFound, "No such group (or member).")
	default:
		h.fail(w, r, op, err)
	}
}

// updateGroup changes the group: a new name (storage.Groups.RenameGroup
// renames it in every client's rule in the same transaction), the
// description, the managed mark. The If-Match check reads the group in
// that transaction.
func (h *Handler) updateGroup(w http.ResponseWriter, r *http.Request, cl *caller) {
	var wr GroupWrite
	if !decode(w, r, &wr, false) {
		return
	}
	action := "group.update"
	if wr.Name != nil {
		action = "group.rename"
	}
	id, tags := r.PathValue("id"), ifMatch(r)
	var after *storage.Group
	var refused storage.FieldErrors
	err := h.change(r, cl, action, "group:"+id, func(tx storage.Store) (any, any, error) {
		before, err := tx.GetGroup(r.Context(), id)
		if err != nil {
			return nil, nil, err
		}
		if err := checkMatch(tags, groupTag(before)); err != nil {
			return nil, nil, err
		}
		want := *before
		if wr.Name != nil {
			want.Name = *wr.Name
		}
		wr.apply(&want)
		if refused = userpolicy.ValidateGroup(&want); len(refused) > 0 {
			return nil, nil, &invalid{refused}
		}
		after = before
		if want.Name != before.Name {
			if after, err = tx.RenameGroup(r.Context(), id, want.Name, h.now().UTC()); err != nil {
				return nil, nil, err
			}
		}
		if want.Description != before.Description || want.Managed != before.Managed {
			after, err = tx.UpdateGroup(r.Context(), id, func(g *storage.Group) error {
				g.Description, g.Managed, g.UpdatedAt = want.Description, want.Managed, h.now().UTC()
				return nil
			})
			if err != nil {
				return nil, nil, err
			}
		}
		return storage.GroupSnapshot(before), storage.GroupSnapshot(after), nil
	})
	if len(refused) > 0 {
		writeInvalid(w, refused)
		return
	} else if err != nil {
		h.groupAnswer(w, r, action, err)
		return
	}
	w.Header().Set("ETag", groupTag(after))
	writeJSON(w, http.StatusOK, groupView(after))
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request, cl *caller) {
	id, tags := r.PathValue("id"), ifMatch(r)
	err := h.change(r, cl, "group.delete", "group:"+id, func(tx storage.Store) (any, any, error) {
		before, err := tx.GetGroup(r.Context(), id)
		if err != nil {
			return nil, nil, err
		}
		if err := checkMatch(tags, groupTag(before)); err != nil {
			return nil, nil, err
		}
		return storage.GroupSnapshot(before), nil, tx.DeleteGroup(r.Context(), id)
	})
	if err != nil {
		h.groupAnswer(w, r, "delete group", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) listMembers(w http.ResponseWriter, r *http.Request, _ *caller) {
	limit, after, ok := page(w, r)
	if !ok {
		return
	}
	g := h.loadGroup(w, r)
	if g == nil {
		return
	}
	rows, err := h.cfg.Store.ListGroupMembers(r.Context(), g.ID, after, limit+1)
	if err != nil {
		h.fail(w, r, "list members", err)
		return
	}
	rows, more := trim(rows, limit)
	out := List[Member]{Items: []Member{}}
	for _, u := range rows {
		out.Items = append(out.Items, Member{UserID: u.ID, Username: u.Username, Name: u.Name})
	}
	if more {
		out.Next = cursor(rows[len(rows)-1].Username)
	}
	writeJSON(w, http.StatusOK, out)
}

// membership is a membership change as the audit trail records it (the
// console's shape).
type membership struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
}

// errNoSuchUser refuses adding a member who does not exist.
var errNoSuchUser = errors.New("no such user")

func (h *Handler) addMember(w http.ResponseWriter, r *http.Request, cl *caller) {
	var wr MemberWrite
	if !decode(w, r, &wr, false) {
		return
	}
	wr.Username = strings.TrimSpace(wr.Username)
	if (wr.UserID == "") == (wr.Username == "") {
		writeInvalid(w, storage.FieldErrors{{Field: "user_id", Code: "policy.group.member_one",
			Message: "name the user by user_id or by username (exactly one)"}})
		return
	}
	id := r.PathValue("id")
	var m Member
	err := h.change(r, cl, "group.add_member", "group:"+id, func(tx storage.Store) (any, any, error) {
		var u *storage.User
		var err error
		if wr.UserID != "" {
			u, err = tx.GetUser(r.Context(), wr.UserID)
		} else {
			u, err = tx.GetUserByUsername(r.Context(), wr.Username)
		}
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil, errNoSuchUser
		} else if err != nil {
			return nil, nil, err
		}
		if err := tx.AddGroupMember(r.Context(), id, u.ID); err != nil {
			return nil, nil, err
		}
		m = Member{UserID: u.ID, Username: u.Username, Name: u.Name}
		return nil, membership{u.ID, u.Username}, nil
	})
	if errors.Is(err, errNoSuchUser) {
		writeInvalid(w, storage.FieldErrors{{Field: "user_id", Code: "policy.group.no_such_user", Message: "no such user"}})
		return
	} else if err != nil {
		h.groupAnswer(w, r, "add member", err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request, cl *caller) {
	id, userID := r.PathValue("id"), r.PathValue("user")
	err := h.change(r, cl, "group.remove_member", "group:"+id, func(tx storage.Store) (any, any, error) {
		var m membership
		if u, err := tx.GetUser(r.Context(), userID); err == nil {
			m = membership{u.ID, u.Username}
		} else if !errors.Is(err, storage.ErrNotFound) {
			return nil, nil, err
		}
		return m, nil, tx.RemoveGroupMember(r.Context(), id, userID)
	})
	if err != nil {
		h.groupAnswer(w, r, "remove member", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
