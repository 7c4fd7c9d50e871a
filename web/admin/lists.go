package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/view"
)

// stamp formats a time for the lists, in the page's language and zone.
func stamp(ctx context.Context, t time.Time) string {
	return i18n.For(ctx).Time(t)
}

func yesNo(ctx context.Context, b bool) string {
	if b {
		return i18n.T(ctx, "admin.yes")
	}
	return i18n.T(ctx, "admin.no")
}

// tr translates catalog keys.
func tr(ctx context.Context, keys ...string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		if k != "" {
			out[i] = i18n.T(ctx, k)
		}
	}
	return out
}

func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request, a *admin) {
	users, err := h.store.ListUsers(r.Context())
	if err != nil {
		h.storeError(w, r, "list users", err)
		return
	}
	now := h.now()
	ctx := r.Context()
	t := view.AdminTable{Heads: tr(ctx, "admin.sessions.user", "admin.sessions.signed_in", "admin.sessions.last_seen", "admin.sessions.expires", ""),
		Empty:     i18n.T(ctx, "admin.sessions.none"),
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
				{Text: stamp(ctx, s.AuthTime)}, {Text: stamp(ctx, s.LastSeenAt)}, {Text: stamp(ctx, s.ExpiresAt)},
				{Text: i18n.T(ctx, "admin.sessions.end"), Post: "/admin/sessions/" + url.PathEscape(s.ID) + "/end"},
			})
		}
	}
	h.render(w, r, http.StatusOK, view.AdminList(h.frame(a, "admin.sessions.title", "sessions"), "", "", t))
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, a *admin) {
	keys, err := h.store.ListSigningKeys(r.Context())
	if err != nil {
		h.storeError(w, r, "list keys", err)
		return
	}
	ctx := r.Context()
	t := view.AdminTable{Heads: tr(ctx, "admin.keys.id", "admin.keys.alg", "admin.keys.state", "admin.keys.created", "admin.keys.activated", "admin.keys.retired"),
		Empty: i18n.T(ctx, "admin.keys.none")}
	for _, k := range keys {
		t.Rows = append(t.Rows, []view.AdminCell{
			{Text: k.ID, Code: true}, {Text: k.Algorithm}, {Text: k.State},
			{Text: stamp(ctx, k.CreatedAt)}, {Text: stamp(ctx, k.ActivatedAt)}, {Text: stamp(ctx, k.RetiredAt)},
		})
	}
	h.render(w, r, http.StatusOK, view.AdminList(h.frame(a, "admin.keys.title", "keys"), "", "", t))
}

// reasonAdminEnded is logged when an administrator ends a session.
const reasonAdminEnded = "forced_logout"

func (h *Handler) endSession(w http.ResponseWriter, r *http.Request, a *admin) {
	s, err := h.store.GetSession(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) {
		h.notFound(w, r, a, "admin.not_found.session")
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
