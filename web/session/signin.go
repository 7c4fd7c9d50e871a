package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/monban-idp/monban/storage"
)

// Authentication is what a completed sign-in established: who, when, and
// with which methods (RFC 8176 `amr` values, e.g. "pwd", "otp", "hwk"),
// and from where.
type Authentication struct {
	UserID   string
	AuthTime time.Time
	AMR      []string
	// Address is the client address as the sign-in throttle counts it
	// (trusted proxies honoured); UserAgent is the browser's User-Agent
	// header, which SignIn cleans with CleanUserAgent. A new session
	// records both so that people can recognise it; they decide nothing.
	Address   string
	UserAgent string
}

// SignIn records a completed authentication and sets a new session
// cookie. The cookie value is always new, so a value planted before
// sign-in is worthless (session fixation, checklist S4).
//
// Renewal: when the browser's live session belongs to the same user, that
// session is renewed in place: it keeps its ID (the `sid` its applications
// hold), the clients it served and the Address and UserAgent of its first
// sign-in (they name where the session began), and takes the new AuthTime and AMR
// (step-up bookkeeping: prompt=login or max_age re-authenticate without
// logging the person out of every other application; OIDC Core
// §3.1.2.1). A session of another user is ended (EndSession: its apps get
// back-channel logout) and a fresh one created.
func (m *Manager) SignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, a Authentication) (*storage.Session, error) {
	if a.UserID == "" || len(a.AMR) == 0 {
		return nil, errors.New("session: sign-in without a user or an authentication method")
	}
	now, authTime := m.now().UTC(), a.AuthTime.UTC()
	if a.AuthTime.IsZero() {
		authTime = now
	}
	amr := slices.Clone(a.AMR)
	token := storage.NewToken()
	if c, err := r.Cookie(m.cookie); err == nil && WellFormedToken(c.Value) {
		old, err := m.store.GetSessionByTokenHash(ctx, storage.HashToken(c.Value))
		switch {
		case err == nil && old.UserID == a.UserID && m.Live(old, now):
			err := m.store.RenewSession(ctx, old.ID, storage.HashToken(token), authTime, amr)
			if err == nil && !authTime.Equal(now) { // a step-up keeps auth_time; the session was used now
				err = m.store.TouchSession(ctx, old.ID, now)
			}
			if err == nil {
				old.TokenHash, old.AuthTime, old.LastSeenAt, old.AMR = storage.HashToken(token), authTime, now, amr
				m.setCookie(w, token, int(old.ExpiresAt.Sub(now)/time.Second))
				return old, nil
			}
			if !errors.Is(err, storage.ErrNotFound) {
				return nil, fmt.Errorf("session: renew: %w", err)
			}
		case err == nil && old.EndedAt.IsZero():
			// Another user's (or a dead) session on this browser ends like a
			// logout: its refresh tokens revoked and its apps told by
			// back-channel logout (OIDC Back-Channel Logout 1.0 §2.7).
			if err := m.EndSession(ctx, old.ID, ReasonReplaced); err != nil {
				return nil, fmt.Errorf("session: end previous: %w", err)
			}
		case err == nil: // ended already: nothing more to end
		case !errors.Is(err, storage.ErrNotFound):
			return nil, fmt.Errorf("session: look up previous: %w", err)
		}
	}
	s := &storage.Session{
		ID:         storage.NewOrderedID(),
		TokenHash:  storage.HashToken(token),
		UserID:     a.UserID,
		AuthTime:   authTime,
		AMR:        amr,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(m.maxAge),
		Address:    a.Address,
		UserAgent:  CleanUserAgent(a.UserAgent),
	}
	if err := m.store.CreateSession(ctx, s); err != nil {
		return nil, fmt.Errorf("session: create: %w", err)
	}
	m.setCookie(w, token, int(m.maxAge/time.Second))
	return s, nil
}
