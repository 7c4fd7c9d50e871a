package admin

import (
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

func groupPath(id string) string { return "/admin/groups/" + url.PathEscape(id) }

// listGroups shows one page of groups in name order with their member
// counts (one statement) and the count of groups (one more).
func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, a *admin) {
	d := view.AdminGroupList{CSRFToken: h.pages.CSRFToken(w, r)}
	h.renderGroups(w, r, a, http.StatusOK, d)
}

func (h *Handler) renderGroups(w http.ResponseWriter, r *http.Request, a *admin, status int, d view.AdminGroupList) {
	ctx := r.Context()
	frame := h.frame(a, "admin.groups.title", "groups")
	q, ok := readListQuery(r, "")
	if !ok || q.before != "" {
		h.message(w, r, http.StatusBadRequest, a, "admin.groups.title", "admin.list.bad_cursor", "/admin/groups", "admin.back")
		return
	}
	groups, err := h.store.ListGroups(ctx, q.after, pageSize+1)
	if err != nil {
		h.storeError(w, r, "list groups", err)
		return
	}
	more := len(groups) > pageSize
	groups = groups[:min(len(groups), pageSize)]
	for _, g := range groups {
		d.Rows = append(d.Rows, view.AdminGroupRow{ID: g.ID, Name: g.Name, Members: g.Members})
	}
	var last string
	if len(groups) > 0 {
		last = groups[len(groups)-1].Name
	}
	d.Pager = pagerLinks("/admin/groups", nil, q, len(groups), more, "", last, false)
	c, err := h.store.CountRows(ctx)
	if err != nil {
		h.storeError(w, r, "count rows", err)
		return
	}
	d.Pager.Count = view.ListCount(ctx, c.Groups, c.Estimated)
	h.render(w, r, status, view.AdminGroups(frame, d))
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request, a *admin) {
	now := h.now().UTC()
	g := &storage.Group{ID: storage.NewID(), Name: r.PostForm.Get("name"), CreatedAt: now, UpdatedAt: now}
	d := view.AdminGroupList{CSRFToken: h.pages.CSRFToken(w, r), Name: g.Name}
	d.Errors = web.FieldMessages(r.Context(), userpolicy.ValidateGroup(g))[userpolicy.FieldGroupName]
	if len(d.Errors) == 0 {
		err := h.change(r, a, "group.create", "group:"+g.ID, nil, groupSnapshot(g),
			func(tx storage.Store) error { return tx.CreateGroup(r.Context(), g) })
		switch {
		case errors.Is(err, storage.ErrAlreadyExists):
			d.Errors = append(d.Errors, i18n.T(r.Context(), "admin.err.group_taken"))
		case err != nil:
			h.storeError(w, r, "create group", err)
			return
		default:
			http.Redirect(w, r, groupPath(g.ID)+"?created=1", http.StatusSeeOther)
			return
		}
	}
	h.renderGroups(w, r, a, http.StatusUnprocessableEntity, d)
}

// loadGroup returns the group named in the path, or writes 404.
func (h *Handler) loadGroup(w http.ResponseWriter, r *http.Request, a *admin) *storage.Group {
	g, err := h.store.GetGroup(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) {
		h.notFound(w, r, a, "admin.not_found.group")
		return nil
	}
	if err != nil {
		h.storeError(w, r, "get group", err)
		return nil
	}
	return g
}

func (h *Handler) showGroup(w http.ResponseWriter, r *http.Request, a *admin) {
	g := h.loadGroup(w, r, a)
	if g == nil {
		return
	}
	d := view.AdminGroupPage{Name: g.Name}
	for k, key := range map[string]string{"created": "admin.notice.group_created", "saved": "admin.notice.saved",
		"added": "admin.notice.member_added", "removed": "admin.notice.member_removed"} {
		if r.URL.Query().Has(k) {
			d.Notice = i18n.T(r.Context(), key)
		}
	}
	h.renderGroup(w, r, a, http.StatusOK, g, d)
}

// renderGroup shows the group page with one page of members (one
// statement, keyset by username).
func (h *Handler) renderGroup(w http.ResponseWriter, r *http.Request, a *admin, status int, g *storage.Group, d view.AdminGroupPage) {
	ctx := r.Context()
	q, ok := readListQuery(r, "")
	if !ok || q.before != "" {
		q = listQuery{}
	}
	members, err := h.store.ListGroupMembers(ctx, g.ID, q.after, pageSize+1)
	if err != nil {
		h.storeError(w, r, "list group members", err)
		return
	}
	more := len(members) > pageSize
	members = members[:min(len(members), pageSize)]
	for _, u := range members {
		d.Rows = append(d.Rows, view.AdminMemberRow{UserID: u.ID, Username: u.Username, Name: u.Name})
	}
	var last string
	if len(members) > 0 {
		last = members[len(members)-1].Username
	}
	d.MemberPage = pagerLinks(groupPath(g.ID), nil, q, len(members), more, "", last, false)
	d.ID, d.CSRFToken = g.ID, h.pages.CSRFToken(w, r)
	h.render(w, r, status, view.AdminGroup(h.frame(a, "admin.group.title", "groups", "Name", g.Name), d))
}

func (h *Handler) renameGroup(w http.ResponseWriter, r *http.Request, a *admin) {
	g := h.loadGroup(w, r, a)
	if g == nil {
		return
	}
	name := r.PostForm.Get("name")
	d := view.AdminGroupPage{Name: name, Errors: map[string][]string{}}
	if p := userpolicy.GroupNameRule(name); !p.IsZero() {
		d.Errors["name"] = []string{web.FieldMessage(r.Context(), p)}
		h.renderGroup(w, r, a, http.StatusUnprocessableEntity, g, d)
		return
	}
	// RenameGroup also renames the group in every client's rule, in the
	// same transaction as the audit entry.
	err := h.update(r, a, "group.rename", "group:"+g.ID, func(tx storage.Store) (any, any, error) {
		before, err := tx.GetGroup(r.Context(), g.ID)
		if err != nil {
			return nil, nil, err
		}
		after, err := tx.RenameGroup(r.Context(), g.ID, name, h.now().UTC())
		if err != nil {
			return nil, nil, err
		}
		return groupSnapshot(before), groupSnapshot(after), nil
	})
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		d.Errors["name"] = []string{i18n.T(r.Context(), "admin.err.group_taken")}
		h.renderGroup(w, r, a, http.StatusConflict, g, d)
		return
	case errors.Is(err, storage.ErrNotFound):
		h.notFound(w, r, a, "admin.not_found.group")
		return
	case err != nil:
		h.storeError(w, r, "rename group", err)
		return
	}
	http.Redirect(w, r, groupPath(g.ID)+"?saved=1", http.StatusSeeOther)
}

// membership is a membership change as the audit trail records it.
type membership struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
}

// errNoSuchUser stops adding a member whose username does not exist.
var errNoSuchUser = errors.New("no such user")

func (h *Handler) addMember(w http.ResponseWriter, r *http.Request, a *admin) {
	g := h.loadGroup(w, r, a)
	if g == nil {
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	err := h.update(r, a, "group.add_member", "group:"+g.ID, func(tx storage.Store) (any, any, error) {
		u, err := tx.GetUserByUsername(r.Context(), username)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil, errNoSuchUser
		} else if err != nil {
			return nil, nil, err
		}
		if err := tx.AddGroupMember(r.Context(), g.ID, u.ID); err != nil {
			return nil, nil, err
		}
		return nil, membership{u.ID, u.Username}, nil
	})
	switch {
	case errors.Is(err, errNoSuchUser):
		d := view.AdminGroupPage{Name: g.Name, Member: username, Errors: map[string][]string{
			"member": {i18n.T(r.Context(), "admin.group.no_such_user", "User", username)}}}
		h.renderGroup(w, r, a, http.StatusUnprocessableEntity, g, d)
		return
	case errors.Is(err, storage.ErrNotFound):
		h.notFound(w, r, a, "admin.not_found.group")
		return
	case err != nil:
		h.storeError(w, r, "add group member", err)
		return
	}
	http.Redirect(w, r, groupPath(g.ID)+"?added=1", http.StatusSeeOther)
}

func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request, a *admin) {
	g := h.loadGroup(w, r, a)
	if g == nil {
		return
	}
	userID := r.PathValue("user")
	err := h.update(r, a, "group.remove_member", "group:"+g.ID, func(tx storage.Store) (any, any, error) {
		var m membership
		if u, err := tx.GetUser(r.Context(), userID); err == nil {
			m = membership{u.ID, u.Username}
		} else if !errors.Is(err, storage.ErrNotFound) {
			return nil, nil, err
		}
		return m, nil, tx.RemoveGroupMember(r.Context(), g.ID, userID)
	})
	if errors.Is(err, storage.ErrNotFound) {
		h.notFound(w, r, a, "admin.not_found.member")
		return
	} else if err != nil {
		h.storeError(w, r, "remove group member", err)
		return
	}
	http.Redirect(w, r, groupPath(g.ID)+"?removed=1", http.StatusSeeOther)
}

func (h *Handler) confirmDeleteGroup(w http.ResponseWriter, r *http.Request, a *admin) {
	g := h.loadGroup(w, r, a)
	if g == nil {
		return
	}
	ctx := r.Context()
	h.render(w, r, http.StatusOK, view.AdminConfirmBack(h.frame(a, "admin.group.delete_title", "groups", "Name", g.Name),
		i18n.T(ctx, "admin.group.delete_detail"), groupPath(g.ID)+"/delete", h.pages.CSRFToken(w, r),
		i18n.T(ctx, "admin.group.delete"), groupPath(g.ID)))
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request, a *admin) {
	g := h.loadGroup(w, r, a)
	if g == nil {
		return
	}
	err := h.change(r, a, "group.delete", "group:"+g.ID, groupSnapshot(g), nil,
		func(tx storage.Store) error { return tx.DeleteGroup(r.Context(), g.ID) })
	switch {
	case errors.Is(err, storage.ErrConflict):
		h.message(w, r, http.StatusConflict, a, "admin.msg.group_in_use.title", "admin.msg.group_in_use.detail",
			groupPath(g.ID), "admin.back")
		return
	case errors.Is(err, storage.ErrNotFound):
		h.notFound(w, r, a, "admin.not_found.group")
		return
	case err != nil:
		h.storeError(w, r, "delete group", err)
		return
	}
	http.Redirect(w, r, "/admin/groups", http.StatusSeeOther)
}
