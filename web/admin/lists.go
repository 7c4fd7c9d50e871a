package admin

import (
	"context"
	"errors"
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

// maxCursorBytes bounds a cursor or search in a list's query: longer
// ones are refused rather than sent to the database.
const maxCursorBytes = 512

// listQuery is the query of a keyset list page as sent: the search and
// the cursor of one direction.
type listQuery struct {
	search        string
	after, before string
}

// readListQuery reads the list query of r: search under searchName,
// cursors under "after" and "before" (before wins). ok is false when a
// value is too long or not UTF-8.
func readListQuery(r *http.Request, searchName string) (q listQuery, ok bool) {
	v := r.URL.Query()
	q = listQuery{after: v.Get("after"), before: v.Get("before")}
	if searchName != "" {
		q.search = strings.TrimSpace(v.Get(searchName))
	}
	for _, s := range []string{q.search, q.after, q.before} {
		if len(s) > maxCursorBytes || !utf8.ValidString(s) {
			return listQuery{}, false
		}
	}
	if q.before != "" {
		q.after = ""
	}
	return q, true
}

// pagerLinks returns a keyset pager for a page of a list at base: rows
// is how many rows the page shows, more whether a row was read beyond
// it (in the page's direction), first and last the cursors of its first
// and last rows. extra holds the query to keep (the search).
func pagerLinks(base string, extra url.Values, q listQuery, rows int, more bool, first, last string, back bool) view.AdminPager {
	link := func(k, v string) string {
		u := url.Values{}
		for name, vs := range extra {
			u[name] = vs
		}
		if k != "" {
			u.Set(k, v)
		}
		if len(u) == 0 {
			return base
		}
		return base + "?" + u.Encode()
	}
	var p view.AdminPager
	atStart := q.after == "" && q.before == "" || q.before != "" && !more
	if !atStart {
		p.First = link("", "")
		if back && rows > 0 {
			p.Prev = link("before", first)
		}
	}
	if rows > 0 && (more && q.before == "" || q.before != "") {
		p.Next = link("after", last)
	}
	return p
}

// sessionCursor is a session's place in the newest-first list as a
// query value: its creation time in microseconds since 1970 (the stored
// precision), a dot, its ID.
func sessionCursor(s *storage.Session) string {
	return strconv.FormatInt(s.CreatedAt.UnixMicro(), 10) + "." + s.ID
}

// parseSessionCursor reads a sessionCursor value; ok is false when it is
// not one.
func parseSessionCursor(v string) (storage.SessionCursor, bool) {
	if v == "" {
		return storage.SessionCursor{}, true
	}
	us, id, found := strings.Cut(v, ".")
	n, err := strconv.ParseInt(us, 10, 64)
	if !found || err != nil || id == "" {
		return storage.SessionCursor{}, false
	}
	return storage.SessionCursor{CreatedAt: time.UnixMicro(n).UTC(), ID: id}, true
}

// listSessions shows one page of live sessions, newest first, with
// their users and apps: one statement for the page and, with a user
// filter, one to find the user.
func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request, a *admin) {
	ctx := r.Context()
	frame := h.frame(a, "admin.sessions.title", "sessions")
	d := view.AdminSessionList{CSRFToken: h.pages.CSRFToken(w, r)}
	q, ok := readListQuery(r, "user")
	after, okAfter := parseSessionCursor(q.after)
	before, okBefore := parseSessionCursor(q.before)
	if !ok || !okAfter || !okBefore {
		d.Error = i18n.T(ctx, "admin.list.bad_cursor")
		h.render(w, r, http.StatusBadRequest, view.AdminSessions(frame, d))
		return
	}
	d.User = q.search
	sq := storage.SessionQuery{After: after, Before: before, Limit: pageSize + 1}
	extra := url.Values{}
	if q.search != "" {
		u, err := h.store.GetUserByUsername(ctx, q.search)
		if errors.Is(err, storage.ErrNotFound) {
			d.Error = i18n.T(ctx, "admin.sessions.no_user", "User", q.search)
			h.render(w, r, http.StatusOK, view.AdminSessions(frame, d))
			return
		} else if err != nil {
			h.storeError(w, r, "get user", err)
			return
		}
		sq.UserID = u.ID
		extra.Set("user", q.search)
	}
	page, err := h.store.ListSessionsPage(ctx, sq)
	if err != nil {
		h.storeError(w, r, "list sessions", err)
		return
	}
	more := len(page) > pageSize
	if more {
		if q.before != "" { // backwards: the extra row is the one farthest from the cursor, the first
			page = page[1:]
		} else {
			page = page[:pageSize]
		}
	}
	now := h.now()
	for _, l := range page {
		s := l.Session
		d.Rows = append(d.Rows, view.AdminSessionRow{ID: s.ID, UserID: s.UserID, Username: l.Username, Clients: l.ClientIDs,
			SignedIn: stamp(ctx, s.AuthTime), LastSeen: stamp(ctx, s.LastSeenAt), Expires: stamp(ctx, s.ExpiresAt),
			Expired: !now.Before(s.ExpiresAt), Address: s.Address, UserAgent: s.UserAgent})
	}
	var first, last string
	if len(page) > 0 {
		first, last = sessionCursor(&page[0].Session), sessionCursor(&page[len(page)-1].Session)
	}
	d.Pager = pagerLinks("/admin/sessions", extra, q, len(page), more, first, last, true)
	if q.search == "" {
		c, err := h.store.CountRows(ctx)
		if err != nil {
			h.storeError(w, r, "count rows", err)
			return
		}
		d.Pager.Count = view.ListCount(ctx, c.Sessions, c.Estimated)
	}
	h.render(w, r, http.StatusOK, view.AdminSessions(frame, d))
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
	if h.record(r, a, "session.end", "session:"+s.ID, storage.SessionSnapshot(s), storage.SessionSnapshot(after)) != nil {
		h.storeError(w, r, "audit", errAudit)
		return
	}
	http.Redirect(w, r, "/admin/sessions", http.StatusSeeOther)
}
