package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/view"
)

// redacted replaces secrets in audit snapshots.
const redacted = "[redacted]"

// clientSnapshot is a client as the audit trail records it: the secret
// hash is replaced by whether there is one.
func clientSnapshot(c *storage.Client) any {
	if c == nil {
		return nil
	}
	s := *c
	if s.SecretHash != "" {
		s.SecretHash = redacted
	}
	return s
}

// userSnapshot is a user as the audit trail records it, without the
// password hash.
func userSnapshot(u *storage.User) any {
	if u == nil {
		return nil
	}
	s := *u
	if s.PasswordHash != "" {
		s.PasswordHash = redacted
	}
	return s
}

func snapshotJSON(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%q", err.Error())
	}
	return string(b)
}

// record writes one audit entry for a change that has been made. The
// change is already stored; if the entry cannot be written the failure is
// logged at error level, with the entry, so the trail can be repaired.
func (h *Handler) record(ctx context.Context, a *admin, action, target string, before, after any) error {
	e := &storage.AuditEntry{
		ID: storage.NewID(), Time: h.now().UTC(), ActorID: a.user.ID, Actor: a.user.Username,
		Action: action, Target: target, Before: snapshotJSON(before), After: snapshotJSON(after),
	}
	if err := h.store.AppendAudit(ctx, e); err != nil {
		h.log.ErrorContext(ctx, "admin: audit entry not written", "err", err, "actor", e.Actor,
			"action", e.Action, "target", e.Target, "after", e.After)
		return err
	}
	h.log.InfoContext(ctx, "admin change", "actor", e.Actor, "action", e.Action, "target", e.Target)
	return nil
}

func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request, a *admin) {
	page := pageOf(r)
	entries, err := h.store.ListAudit(r.Context(), (page-1)*pageSize, pageSize+1)
	if err != nil {
		h.storeError(w, r, "list audit", err)
		return
	}
	var prev, next string
	if page > 1 {
		prev = "/admin/audit?" + url.Values{"page": {fmt.Sprint(page - 1)}}.Encode()
	}
	if len(entries) > pageSize {
		entries = entries[:pageSize]
		next = "/admin/audit?" + url.Values{"page": {fmt.Sprint(page + 1)}}.Encode()
	}
	rows := make([]view.AdminAuditRow, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, view.AdminAuditRow{Time: e.Time.UTC().Format(time.DateTime + " UTC"), Actor: e.Actor,
			Action: e.Action, Target: e.Target, Before: e.Before, After: e.After})
	}
	h.render(w, r, http.StatusOK, view.AdminAudit(h.frame(a, "Audit trail", "audit"), rows, prev, next))
}
