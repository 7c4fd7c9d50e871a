package storage

import (
	"context"
	"log/slog"
	"time"
)

// AuditRecorder writes audit entries to an AuditLog and, for each one,
// exactly one structured log line with the same fields, keyed by the
// entry's field names ("event" holds the Action). It is what op, web and
// the admin console use to record events; it is cheap to build and safe
// for concurrent use if Log and Logger are.
type AuditRecorder struct {
	// Log stores the entries; nil: log lines only.
	Log AuditLog
	// Logger receives the lines; nil: slog.Default().
	Logger *slog.Logger
	// Now stamps entries that have no Time; nil: time.Now.
	Now func() time.Time
}

// Record stores a security event and logs it: at Warn for refusals and
// attacks (failed sign-in, lockout, token reuse, every session of a user
// ended), otherwise at Info. It fills e.ID and e.Time when they are empty.
// attrs are extra key-value pairs for the log line only (not stored).
//
// A security event never fails the request that caused it: if the entry
// cannot be stored, the line is logged at Error instead, with the error
// and the whole entry, so the trail can be repaired from the log.
func (r *AuditRecorder) Record(ctx context.Context, e AuditEntry, attrs ...any) {
	_ = r.write(ctx, &e, attrs)
}

// RecordChange stores an admin change and logs it like Record, but returns
// the store's error, which the console reports to the administrator.
func (r *AuditRecorder) RecordChange(ctx context.Context, e AuditEntry) error {
	return r.write(ctx, &e, nil)
}

func (r *AuditRecorder) write(ctx context.Context, e *AuditEntry, extra []any) error {
	if e.ID == "" {
		e.ID = NewOrderedID()
	}
	if e.Time.IsZero() {
		now := time.Now
		if r.Now != nil {
			now = r.Now
		}
		e.Time = now()
	}
	e.Time = e.Time.UTC()
	var err error
	if r.Log != nil {
		err = r.Log.AppendAudit(ctx, e)
	}
	log := r.Logger
	if log == nil {
		log = slog.Default()
	}
	level, msg := auditLevel(e.Action), auditMessage(e.Action)
	attrs := make([]any, 0, 20+len(extra))
	attrs = append(attrs, "event", e.Action, "audit_id", e.ID)
	for _, f := range [...]struct{ key, value string }{
		{"actor_id", e.ActorID}, {"actor", e.Actor}, {"target", e.Target}, {"address", e.Address},
		{"detail", e.Detail}, {"before", e.Before}, {"after", e.After},
	} {
		if f.value != "" {
			attrs = append(attrs, f.key, f.value)
		}
	}
	attrs = append(attrs, extra...)
	if err != nil {
		level, msg = slog.LevelError, "audit entry not written: "+msg
		attrs = append(attrs, "at", e.Time, "err", err)
	}
	log.Log(ctx, level, msg, attrs...)
	return err
}

// auditLevel is the log level of an action's line.
func auditLevel(action string) slog.Level {
	switch action {
	case ActionSignInFailed, ActionLockout, ActionRefreshReuse, ActionCodeReuse, ActionLogoutAll:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// auditMessage is the log message of an action's line.
func auditMessage(action string) string {
	switch action {
	case ActionSignIn:
		return "signed in"
	case ActionSignInFailed:
		return "sign-in failed"
	case ActionLockout:
		return "sign-in locked after repeated failures"
	case ActionConsentGrant:
		return "consent granted"
	case ActionConsentDeny:
		return "consent denied"
	case ActionRefreshReuse:
		return "refresh token reuse detected; family revoked"
	case ActionCodeReuse:
		return "authorization code reuse detected; tokens issued for it revoked"
	case ActionLogout:
		return "session ended"
	case ActionLogoutAll:
		return "all sessions of a user ended"
	}
	return "admin change"
}
