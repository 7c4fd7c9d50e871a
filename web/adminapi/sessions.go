package adminapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
)

// Session is a live browser session (the provider's SSO session); its
// token hash is never shown. Username and Clients are set in lists.
type Session struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	Username   string    `json:"username,omitempty"`
	Clients    []string  `json:"clients,omitempty"`
	AuthTime   time.Time `json:"auth_time"`
	AMR        []string  `json:"amr"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	Address    string    `json:"address"`
	UserAgent  string    `json:"user_agent"`
}

func sessionView(s *storage.Session) Session {
	return Session{ID: s.ID, UserID: s.UserID, AuthTime: s.AuthTime.UTC(), AMR: orEmpty(s.AMR),
		CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(), ExpiresAt: s.ExpiresAt.UTC(),
		RevokedAt: s.RevokedAt.UTC(), Address: s.Address, UserAgent: s.UserAgent}
}

func sessionTag(s *storage.Session) string { return etag(sessionView(s)) }

// sessionCursor is a session's keyset position: creation time in
// microseconds, a dot, its ID (the console's).
func sessionCursor(s *storage.Session) string {
	return strconv.FormatInt(s.CreatedAt.UnixMicro(), 10) + "." + s.ID
}

// parseTimeCursor reads a "<unix micro>.<id>" position.
func parseTimeCursor(v string) (time.Time, string, bool) {
	if v == "" {
		return time.Time{}, "", true
	}
	us, id, found := strings.Cut(v, ".")
	n, err := strconv.ParseInt(us, 10, 64)
	if !found || err != nil || id == "" {
		return time.Time{}, "", false
	}
	return time.UnixMicro(n).UTC(), id, true
}

func badCursor(w http.ResponseWriter) {
	writeProblem(w, http.StatusBadRequest, probBadRequest, "cursor is not one this API returned.")
}

// listSessions lists live sessions, newest first; ?user_id= keeps one
// user's.
func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request, _ *caller) {
	limit, after, ok := page(w, r)
	if !ok {
		return
	}
	at, id, ok := parseTimeCursor(after)
	if !ok {
		badCursor(w)
		return
	}
	rows, err := h.cfg.Store.ListSessionsPage(r.Context(), storage.SessionQuery{UserID: r.URL.Query().Get("user_id"),
		After: storage.SessionCursor{CreatedAt: at, ID: id}, Limit: limit + 1})
	if err != nil {
		h.fail(w, r, "list sessions", err)
		return
	}
	rows, more := trim(rows, limit)
	out := List[Session]{Items: []Session{}}
	for _, l := range rows {
		v := sessionView(&l.Session)
		v.Username, v.Clients = l.Username, orEmpty(l.ClientIDs)
		out.Items = append(out.Items, v)
	}
	if more {
		out.Next = cursor(sessionCursor(&rows[len(rows)-1].Session))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) loadSession(w http.ResponseWriter, r *http.Request) *storage.Session {
	s, err := h.cfg.Store.GetSession(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) {
		writeProblem(w, http.StatusNotFound, probNotFound, "No session has this ID.")
		return nil
	} else if err != nil {
		h.fail(w, r, "get session", err)
		return nil
	}
	return s
}

func (h *Handler) getSession(w http.ResponseWriter, r *http.Request, _ *caller) {
	if s := h.loadSession(w, r); s != nil {
		w.Header().Set("ETag", sessionTag(s))
		writeJSON(w, http.StatusOK, sessionView(s))
	}
}

// endSession ends the session through the session owner (refresh tokens
// revoked, back-channel logout enqueued), then records it, as the
// console does. A session only ever moves towards its end, so the
// If-Match check reads it just before.
func (h *Handler) endSession(w http.ResponseWriter, r *http.Request, cl *caller) {
	s := h.loadSession(w, r)
	if s == nil {
		return
	}
	if checkMatch(ifMatch(r), sessionTag(s)) != nil {
		writeStale(w)
		return
	}
	if h.cfg.Sessions == nil {
		h.fail(w, r, "end session", errors.New("no session ender configured"))
		return
	}
	if err := h.cfg.Sessions.EndSession(r.Context(), s.ID, reasonForcedLogout); err != nil {
		h.fail(w, r, "end session", err)
		return
	}
	after, err := h.cfg.Store.GetSession(r.Context(), s.ID)
	if err != nil {
		after = nil
	}
	if err := h.record(r, cl, "session.end", "session:"+s.ID, storage.SessionSnapshot(s), storage.SessionSnapshot(after)); err != nil {
		h.fail(w, r, "audit", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Key is a signing key's public facts (never its material).
type Key struct {
	ID          string    `json:"kid"`
	Algorithm   string    `json:"alg"`
	State       string    `json:"state"`
	CreatedAt   time.Time `json:"created_at"`
	ActivatedAt time.Time `json:"activated_at,omitzero"`
	RetiredAt   time.Time `json:"retired_at,omitzero"`
	RemoveAfter time.Time `json:"remove_after,omitzero"`
}

// listKeys lists the signing keys, oldest first. There are a handful
// (three per algorithm at most), read in one statement; the cursor is the
// last key's position in that order.
func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, _ *caller) {
	limit, after, ok := page(w, r)
	if !ok {
		return
	}
	keys, err := h.cfg.Store.ListSigningKeys(r.Context())
	if err != nil {
		h.fail(w, r, "list keys", err)
		return
	}
	start := 0
	if after != "" {
		start = -1
		for i, k := range keys {
			if k.ID == after {
				start = i + 1
			}
		}
		if start < 0 {
			badCursor(w)
			return
		}
	}
	rows, more := trim(keys[start:], limit)
	out := List[Key]{Items: []Key{}}
	for _, k := range rows {
		out.Items = append(out.Items, Key{ID: k.ID, Algorithm: k.Algorithm, State: k.State, CreatedAt: k.CreatedAt.UTC(),
			ActivatedAt: k.ActivatedAt.UTC(), RetiredAt: k.RetiredAt.UTC(), RemoveAfter: k.RemoveAfter.UTC()})
	}
	if more {
		out.Next = cursor(rows[len(rows)-1].ID)
	}
	writeJSON(w, http.StatusOK, out)
}

// RotateKeys is the body of POST /keys/rotate (optional): immediately
// promotes next keys published for less than the lead too (see
// `monban keys rotate --immediately`).
type RotateKeys struct {
	Immediately bool `json:"immediately"`
}

// Rotation is one algorithm's result of a key rotation (the JSON of
// `monban keys rotate --output json`).
type Rotation struct {
	Algorithm           string     `json:"algorithm"`
	Rotated             bool       `json:"rotated"`
	Retired             string     `json:"retired_kid,omitempty"`
	Current             string     `json:"current_kid"`
	Next                string     `json:"next_kid"`
	PublishedForSeconds int64      `json:"published_for_seconds"`
	RetryAt             *time.Time `json:"retry_at,omitempty"`
}

// Rotations is the answer of POST /keys/rotate.
type Rotations struct {
	Rotations []Rotation `json:"rotations"`
}

func (h *Handler) rotateKeys(w http.ResponseWriter, r *http.Request, cl *caller) {
	var body RotateKeys
	if !decode(w, r, &body, true) {
		return
	}
	if h.cfg.Keys == nil {
		h.fail(w, r, "rotate keys", errors.New("no key rotator configured"))
		return
	}
	res, err := h.cfg.Keys.RotateKeys(r.Context(), body.Immediately)
	out := Rotations{Rotations: []Rotation{}}
	for _, k := range res {
		v := Rotation{Algorithm: k.Algorithm, Rotated: k.Rotated, Retired: k.Retired, Current: k.Current, Next: k.Next,
			PublishedForSeconds: int64(k.PublishedFor / time.Second)}
		if !k.Rotated {
			t := k.RetryAt.UTC()
			v.RetryAt = &t
		}
		out.Rotations = append(out.Rotations, v)
	}
	// The keys are written by the key owner's own transactions; the entry
	// records what it did, even when some algorithm failed.
	if aerr := h.record(r, cl, "key.rotate", "keys", nil, out); aerr != nil {
		h.fail(w, r, "audit", aerr)
		return
	}
	if err != nil {
		h.fail(w, r, "rotate keys", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// AuditEntry is one entry of the audit trail; Before and After are the
// JSON snapshots of an admin change (secrets redacted), absent when there
// are none.
type AuditEntry struct {
	ID      string          `json:"id"`
	Time    time.Time       `json:"time"`
	ActorID string          `json:"actor_id"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Target  string          `json:"target"`
	Address string          `json:"address"`
	Detail  string          `json:"detail"`
	Before  json.RawMessage `json:"before,omitempty"`
	After   json.RawMessage `json:"after,omitempty"`
}

func rawJSON(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return nil
	}
	return json.RawMessage(s)
}

// maxFilter bounds the audit filters, in bytes (the console's limit).
const maxFilter = 256

// listAudit lists the audit trail, newest first, with the console's
// filters: action (a category: signin, consent, token, logout, admin),
// actor (username, user ID or "client:<id>"), target (exact, or a prefix
// ending in *), since (a date, YYYY-MM-DD).
func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request, _ *caller) {
	limit, after, ok := page(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var f storage.AuditFilter
	if f.Actions, ok = storage.AuditCategoryFilter(q.Get("action")); !ok {
		writeProblem(w, http.StatusBadRequest, probBadRequest, "action must be one of signin, consent, token, logout, admin.")
		return
	}
	f.Actor, f.Target = strings.TrimSpace(q.Get("actor")), strings.TrimSpace(q.Get("target"))
	if len(f.Actor) > maxFilter || len(f.Target) > maxFilter {
		writeProblem(w, http.StatusBadRequest, probBadRequest, "actor and target are at most 256 bytes.")
		return
	}
	if v := q.Get("since"); v != "" {
		since, err := time.Parse(time.DateOnly, v)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, probBadRequest, "since must be a date, YYYY-MM-DD.")
			return
		}
		f.Since = since
	}
	at, id, ok := parseTimeCursor(after)
	if !ok {
		badCursor(w)
		return
	}
	f.Older = storage.AuditCursor{Time: at, ID: id}
	rows, err := h.cfg.Store.ListAudit(r.Context(), f, 0, limit+1)
	if err != nil {
		h.fail(w, r, "list audit", err)
		return
	}
	rows, more := trim(rows, limit)
	out := List[AuditEntry]{Items: []AuditEntry{}}
	for _, e := range rows {
		out.Items = append(out.Items, AuditEntry{ID: e.ID, Time: e.Time.UTC(), ActorID: e.ActorID, Actor: e.Actor,
			Action: e.Action, Target: e.Target, Address: e.Address, Detail: e.Detail,
			Before: rawJSON(e.Before), After: rawJSON(e.After)})
	}
	if more {
		last := rows[len(rows)-1]
		out.Next = cursor(strconv.FormatInt(last.Time.UnixMicro(), 10) + "." + last.ID)
	}
	writeJSON(w, http.StatusOK, out)
}
