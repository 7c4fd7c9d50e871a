package admin

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/view"
)

// The audit snapshots of the objects the console changes (shared with
// the admin API, package web/adminapi).
var (
	clientSnapshot = storage.ClientSnapshot
	userSnapshot   = storage.UserSnapshot
	groupSnapshot  = storage.GroupSnapshot
	snapshotJSON   = storage.SnapshotJSON
)

// record writes one audit entry, with the administrator, their address
// and the before and after snapshots, for a change that has been made
// (the log line comes from storage.AuditRecorder). The change is already
// stored; if the entry cannot be written the failure is logged at error
// level, with the entry, so the trail can be repaired, and returned.
func (h *Handler) record(r *http.Request, a *admin, action, target string, before, after any) error {
	return h.audit.RecordChange(r.Context(), h.entry(r, a, action, target, before, after))
}

// change applies a change and writes its audit entry in one transaction
// (storage.Atomic): both are stored or neither, also when the process dies
// in between (checklist R8). apply's error comes back unchanged, so
// callers can tell ErrNotFound or ErrAlreadyExists from a failure.
func (h *Handler) change(r *http.Request, a *admin, action, target string, before, after any, apply func(tx storage.Store) error) error {
	return h.update(r, a, action, target, func(tx storage.Store) (any, any, error) { return before, after, apply(tx) })
}

// update is change for a read-modify-write: apply makes the change in the
// transaction (through an updater that reads the row under its lock) and
// returns the before and after snapshots it saw, so the audit entry
// records what was really replaced, not a copy read earlier.
func (h *Handler) update(r *http.Request, a *admin, action, target string, apply func(tx storage.Store) (before, after any, err error)) error {
	return h.audit.Change(r.Context(), h.store, h.entry(r, a, action, target, nil, nil), apply)
}

// entry is the audit entry of an admin change.
func (h *Handler) entry(r *http.Request, a *admin, action, target string, before, after any) storage.AuditEntry {
	return storage.AuditEntry{
		ActorID: a.user.ID, Actor: a.user.Username, Address: h.pages.ClientAddr(r),
		Action: action, Target: target, Before: snapshotJSON(before), After: snapshotJSON(after),
	}
}

// auditCategories are the choices of the audit page's event filter, in
// order; the first, "", shows everything.
var auditCategories = []struct {
	value, label string // label is a catalog key
}{
	{"", "admin.audit.cat.all"},
	{"signin", "admin.audit.cat.signin"},
	{"consent", "admin.audit.cat.consent"},
	{"token", "admin.audit.cat.token"},
	{"logout", "admin.audit.cat.logout"},
	{"admin", "admin.audit.cat.admin"},
}

// maxFilterBytes limits the audit page's filter values; longer ones are
// refused.
const maxFilterBytes = 256

// auditFilter reads the audit page's query into d (as typed, for the
// form) and the store's filter. Values are untrusted: problems land in
// d.Errors in words an administrator can act on.
func auditFilter(ctx context.Context, q url.Values, d *view.AdminAuditList) storage.AuditFilter {
	var f storage.AuditFilter
	d.Action = q.Get("action")
	d.Actor = strings.TrimSpace(q.Get("actor"))
	d.Target = strings.TrimSpace(q.Get("target"))
	d.Since = strings.TrimSpace(q.Get("since"))
	known := false
	for _, c := range auditCategories {
		d.Categories = append(d.Categories, view.AdminOption{Value: c.value, Label: i18n.T(ctx, c.label)})
		if c.value == d.Action {
			// The values' meaning is shared with the admin API.
			f.Actions, known = storage.AuditCategoryFilter(c.value)
		}
	}
	if !known {
		d.Errors = append(d.Errors, i18n.T(ctx, "admin.audit.err.category"))
		d.Action = ""
	}
	for _, v := range []struct{ name, value string }{{"admin.audit.actor", d.Actor}, {"admin.audit.target", d.Target}, {"admin.audit.since", d.Since}} {
		if len(v.value) > maxFilterBytes || !utf8.ValidString(v.value) {
			d.Errors = append(d.Errors, i18n.T(ctx, "admin.audit.err.too_long", "Field", i18n.T(ctx, v.name), "Max", maxFilterBytes))
		}
	}
	f.Actor, f.Target = d.Actor, d.Target
	if d.Since != "" {
		since, err := time.Parse(time.DateOnly, d.Since)
		if err != nil {
			d.Errors = append(d.Errors, i18n.T(ctx, "admin.audit.err.since"))
		}
		f.Since = since
	}
	d.Filtered = d.Action != "" || d.Actor != "" || d.Target != "" || d.Since != ""
	if len(d.Errors) > 0 {
		// Echo nothing that failed validation back into the form.
		for _, s := range []*string{&d.Actor, &d.Target, &d.Since} {
			if len(*s) > maxFilterBytes || !utf8.ValidString(*s) {
				*s = ""
			}
		}
	}
	return f
}

func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request, a *admin) {
	frame := h.frame(a, "admin.audit.title", "audit")
	var d view.AdminAuditList
	filter := auditFilter(r.Context(), r.URL.Query(), &d)
	if len(d.Errors) > 0 {
		h.render(w, r, http.StatusBadRequest, view.AdminAudit(frame, d))
		return
	}
	// Keyset: the next page starts after the last entry shown (its time
	// and ID), so a page deep in a long trail costs what the first does.
	q, ok := readListQuery(r, "")
	older, okCursor := parseSessionCursor(q.after)
	if !ok || !okCursor || q.before != "" {
		d.Errors = append(d.Errors, i18n.T(r.Context(), "admin.list.bad_cursor"))
		h.render(w, r, http.StatusBadRequest, view.AdminAudit(frame, d))
		return
	}
	filter.Older = storage.AuditCursor{Time: older.CreatedAt, ID: older.ID}
	entries, err := h.store.ListAudit(r.Context(), filter, 0, pageSize+1)
	if err != nil {
		h.storeError(w, r, "list audit", err)
		return
	}
	// The links carry the filter, so paging never drops it.
	link := func(cursor string) string {
		q := url.Values{}
		for k, v := range map[string]string{"action": d.Action, "actor": d.Actor, "target": d.Target, "since": d.Since} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if cursor != "" {
			q.Set("after", cursor)
		}
		if len(q) == 0 {
			return "/admin/audit"
		}
		return "/admin/audit?" + q.Encode()
	}
	if q.after != "" {
		d.PrevHref = link("")
	}
	if len(entries) > pageSize {
		entries = entries[:pageSize]
		last := entries[len(entries)-1]
		d.NextHref = link(strconv.FormatInt(last.Time.UnixMicro(), 10) + "." + last.ID)
	}
	for _, e := range entries {
		d.Rows = append(d.Rows, view.AdminAuditRow{Time: i18n.For(r.Context()).Time(e.Time), Actor: e.Actor,
			Action: e.Action, Target: e.Target, Address: e.Address, Detail: e.Detail, Before: e.Before, After: e.After})
	}
	h.render(w, r, http.StatusOK, view.AdminAudit(frame, d))
}
