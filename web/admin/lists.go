package admin

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/view"
)

// stamp formats a time for the lists.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request, a *admin) {
	users, err := h.store.ListUsers(r.Context())
	if err != nil {
		h.storeError(w, r, "list users", err)
		return
	}
	now := h.now()
	t := view.AdminTable{Heads: []string{"User", "Signed in", "Last seen", "Expires", ""}, Empty: "No live sessions.",
		CSRFToken: h.pages.CSRFToken(w, r)}
	for _, u := range users {
		ss, err := h.store.ListUserSessions(r.Context(), u.ID)
		if err != nil {
			h.storeError(w, r, "list sessions", err)
			return
		}
		for _, s := range ss {
			if !now.Before(s.ExpiresAt) {
				continue
			}
			t.Rows = append(t.Rows, []view.AdminCell{
				{Text: u.Username, Href: "/admin/users/" + url.PathEscape(u.ID)},
				{Text: stamp(s.AuthTime)}, {Text: stamp(s.LastSeenAt)}, {Text: stamp(s.ExpiresAt)},
				{Text: "End session", Post: "/admin/sessions/" + url.PathEscape(s.ID) + "/end"},
			})
		}
	}
	h.render(w, r, http.StatusOK, view.AdminList(h.frame(a, "Sessions", "sessions"), "", "", t))
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, a *admin) {
	keys, err := h.store.ListSigningKeys(r.Context())
	if err != nil {
		h.storeError(w, r, "list keys", err)
		return
	}
	t := view.AdminTable{Heads: []string{"Key ID", "Algorithm", "State", "Created", "Activated", "Retired"}, Empty: "No signing keys yet."}
	for _, k := range keys {
		t.Rows = append(t.Rows, []view.AdminCell{
			{Text: k.ID, Code: true}, {Text: k.Algorithm}, {Text: k.State},
			{Text: stamp(k.CreatedAt)}, {Text: stamp(k.ActivatedAt)}, {Text: stamp(k.RetiredAt)},
		})
	}
	h.render(w, r, http.StatusOK, view.AdminList(h.frame(a, "Signing keys", "keys"), "", "", t))
}

// reasonAdminEnded is logged when an administrator ends a session.
const reasonAdminEnded = "forced_logout"

func (h *Handler) endSession(w http.ResponseWriter, r *http.Request, a *admin) {
	s, err := h.store.GetSession(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) {
		h.notFound(w, r, a, "Session")
		return
	}
	if err != nil {
		h.storeError(w, r, "get session", err)
		return
	}
	if h.sessions == nil {
		h.storeError(w, r, "end session", errors.New("no session ender configured"))
		return
	}
	if err := h.sessions.EndSession(r.Context(), s.ID, reasonAdminEnded); err != nil {
		h.storeError(w, r, "end session", err)
		return
	}
	after, err := h.store.GetSession(r.Context(), s.ID)
	if err != nil {
		after = nil
	}
	if h.record(r, a, "session.end", "session:"+s.ID, sessionSnapshot(s), sessionSnapshot(after)) != nil {
		h.storeError(w, r, "audit", errAudit)
		return
	}
	http.Redirect(w, r, "/admin/sessions", http.StatusSeeOther)
}

// sessionSnapshot is a session as the audit trail records it, without
// its token hash.
func sessionSnapshot(s *storage.Session) any {
	if s == nil {
		return nil
	}
	c := *s
	c.TokenHash = redacted
	return c
}
