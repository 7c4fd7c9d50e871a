package op

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/monban-idp/monban/storage"
)

// Reasons a session ends, logged as the "reason" of the security event.
const (
	ReasonLogout         = "logout"          // RP-initiated logout, confirmed or with a valid hint
	ReasonForcedLogout   = "forced_logout"   // "log out everywhere" by an operator
	ReasonUserDisabled   = "user_disabled"   // the user was disabled
	reasonSessionRevoked = "session_revoked" // found revoked (e.g. replaced by a new sign-in) by the sweeper
	reasonSessionExpiry  = "session_expired" // idle or absolute timeout, found by the sweeper
)

// Logout ends browser sessions and takes away what hangs on them, in one
// place for every way a session can end (RP-Initiated Logout 1.0 §2, the
// logout confirmation page, forced logout, user disabled, expiry):
//   - the session is revoked (checklist S6, L3);
//   - its refresh tokens are revoked, offline_access grants excepted
//     unless every session of the user is ended (RFC 9700 §4.14.2), and
//     with them their access tokens (`fid`, see activeAccessToken);
//   - a back-channel logout delivery is enqueued for every client the
//     session served (Back-Channel Logout 1.0 §2.3, §2.5), in the same
//     transaction that marks the session ended, so it happens exactly
//     once even when replicas race.
//
// If a step fails, the session stays revoked but not ended, and the
// Worker's sweep finishes the job later.
type Logout struct {
	store  storage.Store
	log    *slog.Logger
	now    func() time.Time
	notify func()
}

// LogoutConfig configures a Logout.
type LogoutConfig struct {
	Store  storage.Store
	Logger *slog.Logger     // nil: slog.Default()
	Now    func() time.Time // nil: time.Now
	// Notify, when set, is called after back-channel deliveries were
	// enqueued, so the local Worker sends them without waiting for its
	// next tick (Worker.Notify).
	Notify func()
}

// NewLogout returns a Logout over cfg.Store.
func NewLogout(cfg LogoutConfig) *Logout {
	l := &Logout{store: cfg.Store, log: cfg.Logger, now: cfg.Now, notify: cfg.Notify}
	if l.log == nil {
		l.log = slog.Default()
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l
}

// EndSession ends one browser session (RP-Initiated Logout 1.0 §2; checklist
// L3): it is revoked, its session-bound refresh tokens too, and every
// client it served gets a back-channel logout token. The audit trail gets
// a storage.ActionLogout entry with reason as its Detail.
// Ending an already ended session is not an error.
func (l *Logout) EndSession(ctx context.Context, sessionID, reason string) error {
	now := l.now().UTC()
	if err := l.store.RevokeSession(ctx, sessionID, now); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("revoke session: %w", err)
	}
	n, err := l.finish(ctx, sessionID, now)
	if err != nil {
		return err
	}
	e := storage.AuditEntry{Action: storage.ActionLogout, Target: "session:" + sessionID, Detail: reason}
	if s, err := l.store.GetSession(ctx, sessionID); err == nil {
		e.ActorID = s.UserID
	}
	recordEvent(ctx, l.store, l.log, l.now, e, "backchannel_deliveries", n)
	return nil
}

// EndUserSessions ends every session of the user and revokes all their
// refresh tokens, offline_access ones included ("log out everywhere",
// user disabled; checklist S6, T12), and writes one
// storage.ActionLogoutAll audit entry. It returns how many sessions were
// live.
func (l *Logout) EndUserSessions(ctx context.Context, userID, reason string) (int, error) {
	now := l.now().UTC()
	ids, err := l.store.RevokeUserSessions(ctx, userID, now)
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	if err := l.store.RevokeUserRefreshTokens(ctx, userID, now); err != nil {
		return 0, fmt.Errorf("revoke refresh tokens: %w", err)
	}
	deliveries := 0
	for _, id := range ids {
		n, err := l.finish(ctx, id, now)
		if err != nil {
			return 0, err
		}
		deliveries += n
	}
	recordEvent(ctx, l.store, l.log, l.now, storage.AuditEntry{Action: storage.ActionLogoutAll, ActorID: userID,
		Target: "user:" + userID, Detail: fmt.Sprintf("%s; %d sessions", reason, len(ids))},
		"backchannel_deliveries", deliveries)
	return len(ids), nil
}

// EndDueSessions ends up to limit sessions that are revoked, idle (for
// idle) or expired but not ended yet (checklist S5), and returns how many
// it ended. Several replicas may run it at once: each session's deliveries
// are enqueued once. Each ending is logged but not written to the audit
// trail: an expiry is not something anyone did, and a sweep may end many
// sessions at once. (A session revoked on purpose got its entry from
// EndSession or EndUserSessions; one replaced by a new sign-in, from that
// sign-in.)
func (l *Logout) EndDueSessions(ctx context.Context, idle time.Duration, limit int) (int, error) {
	now := l.now().UTC()
	due, err := l.store.ListSessionsToEnd(ctx, now, idle, limit)
	if err != nil {
		return 0, fmt.Errorf("list sessions to end: %w", err)
	}
	for i, s := range due {
		reason := reasonSessionExpiry
		if !s.RevokedAt.IsZero() {
			reason = reasonSessionRevoked
		} else if err := l.store.RevokeSession(ctx, s.ID, now); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return i, fmt.Errorf("revoke session: %w", err)
		}
		n, err := l.finish(ctx, s.ID, now)
		if err != nil {
			return i, err
		}
		l.log.InfoContext(ctx, "session ended", "event", "logout", "reason", reason,
			"session_id", s.ID, "user_id", s.UserID, "backchannel_deliveries", n)
	}
	return len(due), nil
}

// finish revokes the session's refresh tokens (offline_access grants
// survive) and marks it ended, enqueueing its back-channel deliveries.
func (l *Logout) finish(ctx context.Context, sessionID string, now time.Time) (int, error) {
	if err := l.store.RevokeSessionRefreshTokens(ctx, sessionID, true, now); err != nil {
		return 0, fmt.Errorf("revoke session refresh tokens: %w", err)
	}
	n, err := l.store.EndSession(ctx, sessionID, now)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("enqueue back-channel logout: %w", err)
	}
	if n > 0 && l.notify != nil {
		l.notify()
	}
	return n, nil
}
