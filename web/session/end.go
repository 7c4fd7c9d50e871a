package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/monban-idp/monban/storage"
)

// Reasons a session ends, logged as the "reason" of the security event
// and written as the audit entry's Detail.
const (
	ReasonLogout         = "logout"          // RP-initiated logout, confirmed or with a valid hint
	ReasonForcedLogout   = "forced_logout"   // "log out everywhere" by an operator
	ReasonUserDisabled   = "user_disabled"   // the user was disabled
	ReasonReplaced       = "replaced"        // another user signed in on the same browser
	reasonSessionRevoked = "session_revoked" // found revoked (e.g. replaced by a new sign-in) by the sweep
	reasonSessionExpiry  = "session_expired" // idle or absolute timeout, found by the sweep
)

// Ending a session is one path for every way a session ends (RP-Initiated
// Logout 1.0 §2, the sign-out confirmation page, forced logout, user
// disabled, expiry):
//   - the session is revoked (checklist S6, L3);
//   - its refresh tokens are revoked, offline_access grants excepted
//     unless every session of the user is ended (RFC 9700 §4.14.2), and
//     with them their access tokens;
//   - a back-channel logout delivery is enqueued for every client the
//     session served (Back-Channel Logout 1.0 §2.3, §2.5), in the same
//     transaction that marks the session ended, so it happens exactly
//     once even when replicas race; Config.Notify wakes the sender.
//
// If a step fails, the session stays revoked but not ended, and Sweep
// finishes the job later.

// EndSession ends one browser session (checklist L3) and writes a
// storage.ActionLogout audit entry with reason as its Detail. Ending an
// already ended session is not an error.
func (m *Manager) EndSession(ctx context.Context, sessionID, reason string) error {
	now := m.now().UTC()
	if err := m.store.RevokeSession(ctx, sessionID, now); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("session: revoke: %w", err)
	}
	n, err := m.finish(ctx, sessionID, now)
	if err != nil {
		return err
	}
	e := storage.AuditEntry{Action: storage.ActionLogout, Target: "session:" + sessionID, Detail: reason}
	if s, err := m.store.GetSession(ctx, sessionID); err == nil {
		e.ActorID = s.UserID
	}
	m.record(ctx, e, "backchannel_deliveries", n)
	return nil
}

// EndUserSessions ends every session of the user and revokes all their
// refresh tokens, offline_access ones included ("log out everywhere",
// user disabled; checklist S6, T12), and writes one
// storage.ActionLogoutAll audit entry. It returns how many sessions were
// live.
func (m *Manager) EndUserSessions(ctx context.Context, userID, reason string) (int, error) {
	now := m.now().UTC()
	ids, err := m.store.RevokeUserSessions(ctx, userID, now)
	if err != nil {
		return 0, fmt.Errorf("session: revoke user sessions: %w", err)
	}
	if err := m.store.RevokeUserRefreshTokens(ctx, userID, now); err != nil {
		return 0, fmt.Errorf("session: revoke refresh tokens: %w", err)
	}
	deliveries := 0
	for _, id := range ids {
		n, err := m.finish(ctx, id, now)
		if err != nil {
			return 0, err
		}
		deliveries += n
	}
	m.record(ctx, storage.AuditEntry{Action: storage.ActionLogoutAll, ActorID: userID,
		Target: "user:" + userID, Detail: fmt.Sprintf("%s; %d sessions", reason, len(ids))},
		"backchannel_deliveries", deliveries)
	return len(ids), nil
}

// Sweep ends up to limit sessions that are revoked, idle or expired but
// not ended yet (checklist S5), and returns how many it ended. Several
// replicas may run it at once: each session's deliveries are enqueued
// once. Each ending is logged but not written to the audit trail: an
// expiry is not something anyone did, and a sweep may end many sessions at
// once. (A session revoked on purpose got its entry from EndSession or
// EndUserSessions; one replaced by a new sign-in, from that sign-in.)
func (m *Manager) Sweep(ctx context.Context, limit int) (int, error) {
	now := m.now().UTC()
	due, err := m.store.ListSessionsToEnd(ctx, now, m.idle, limit)
	if err != nil {
		return 0, fmt.Errorf("session: list sessions to end: %w", err)
	}
	for i, s := range due {
		reason := reasonSessionExpiry
		if !s.RevokedAt.IsZero() {
			reason = reasonSessionRevoked
		} else if err := m.store.RevokeSession(ctx, s.ID, now); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return i, fmt.Errorf("session: revoke: %w", err)
		}
		n, err := m.finish(ctx, s.ID, now)
		if err != nil {
			return i, err
		}
		m.log.InfoContext(ctx, "session ended", "event", "logout", "reason", reason,
			"session_id", s.ID, "user_id", s.UserID, "backchannel_deliveries", n)
	}
	return len(due), nil
}

// finish revokes the session's refresh tokens (offline_access grants
// survive) and marks it ended, enqueueing its back-channel deliveries.
func (m *Manager) finish(ctx context.Context, sessionID string, now time.Time) (int, error) {
	if err := m.store.RevokeSessionRefreshTokens(ctx, sessionID, true, now); err != nil {
		return 0, fmt.Errorf("session: revoke session refresh tokens: %w", err)
	}
	n, err := m.store.EndSession(ctx, sessionID, now)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("session: enqueue back-channel logout: %w", err)
	}
	if n > 0 && m.notify != nil {
		m.notify()
	}
	return n, nil
}

// record writes a security event to the audit trail and the log; an entry
// that names its user by ID only gets the username, if it can be read.
func (m *Manager) record(ctx context.Context, e storage.AuditEntry, attrs ...any) {
	if e.ActorID != "" && e.Actor == "" {
		if u, err := m.store.GetUser(ctx, e.ActorID); err == nil {
			e.Actor = u.Username
		}
	}
	rec := storage.AuditRecorder{Log: m.store, Logger: m.log, Now: m.now}
	rec.Record(ctx, e, attrs...)
}
