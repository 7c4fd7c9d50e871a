package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/monban-idp/monban/storage"
)

// touchInterval limits how often CurrentSession writes LastSeenAt.
const touchInterval = time.Minute

// CurrentSession returns the browser's live single sign-on session. It
// returns (nil, nil) when there is no session cookie, or the cookie names
// no session, or the session is revoked, idle too long or past its absolute
// expiry, or its user is gone or disabled. An error means the store
// failed. Session and user are read in one round trip; LastSeenAt is
// refreshed at most once a minute.
func (h *Handler) CurrentSession(r *http.Request) (*storage.Session, error) {
	c, err := r.Cookie(h.sessionName)
	if err != nil || !wellFormedToken(c.Value) {
		return nil, nil
	}
	ctx := r.Context()
	s, u, err := h.store.GetSessionWithUser(ctx, storage.HashToken(c.Value))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("web: look up session: %w", err)
	}
	now := h.now().UTC()
	// A disabled user's sessions are revoked when they are disabled; the
	// user is checked here too, so no page or SSO answer can rely on a
	// session whose revocation raced with that (OIDC Core §3.1.2.1).
	if !s.Active(now, h.idle) || u == nil || u.Disabled {
		return nil, nil
	}
	if now.Sub(s.LastSeenAt) >= touchInterval {
		err := h.store.TouchSession(ctx, s.ID, now)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("web: touch session: %w", err)
		}
		s.LastSeenAt = now
	}
	return s, nil
}

// ClearSession expires the session cookie in the browser. It does not
// revoke the server-side session; callers do that first.
func (h *Handler) ClearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     h.sessionName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		Secure:   h.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// startSession records a sign-in and sets a new session cookie. The cookie
// value is always new, so a value planted before sign-in is worthless
// (session fixation, checklist S4). When the browser's live session belongs
// to the same user, that session is renewed in place: it keeps its ID (the
// `sid` its apps hold) and its clients, and gets the new AuthTime, so a
// step-up (prompt=login, max_age) does not log the person out of every
// other app. A session of another user is revoked and a fresh one created.
func (h *Handler) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, userID string, now time.Time) (*storage.Session, error) {
	token := storage.NewToken()
	if c, err := r.Cookie(h.sessionName); err == nil && wellFormedToken(c.Value) {
		old, err := h.store.GetSessionByTokenHash(ctx, storage.HashToken(c.Value))
		switch {
		case err == nil && old.UserID == userID && old.Active(now, h.idle):
			err := h.store.RenewSession(ctx, old.ID, storage.HashToken(token), now, []string{"pwd"})
			if err == nil {
				old.TokenHash, old.AuthTime, old.LastSeenAt, old.AMR = storage.HashToken(token), now, now, []string{"pwd"}
				h.setSessionCookie(w, token, old.ExpiresAt.Sub(now))
				return old, nil
			}
			if !errors.Is(err, storage.ErrNotFound) {
				return nil, fmt.Errorf("web: renew session: %w", err)
			}
		case err == nil:
			if err := h.store.RevokeSession(ctx, old.ID, now); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return nil, fmt.Errorf("web: revoke previous session: %w", err)
			}
		case !errors.Is(err, storage.ErrNotFound):
			return nil, fmt.Errorf("web: look up previous session: %w", err)
		}
	}
	s := &storage.Session{
		ID:         storage.NewID(),
		TokenHash:  storage.HashToken(token),
		UserID:     userID,
		AuthTime:   now,
		AMR:        []string{"pwd"},
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(h.maxAge),
	}
	if err := h.store.CreateSession(ctx, s); err != nil {
		return nil, fmt.Errorf("web: create session: %w", err)
	}
	h.setSessionCookie(w, token, h.maxAge)
	return s, nil
}

// setSessionCookie sets the session cookie (checklist S1): HttpOnly,
// SameSite=Lax, Path=/, no Domain; Secure with the __Host- name on https.
func (h *Handler) setSessionCookie(w http.ResponseWriter, token string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name:     h.sessionName,
		Value:    token,
		Path:     "/",
		MaxAge:   int(maxAge / time.Second),
		Secure:   h.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}
