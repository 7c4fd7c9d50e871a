package op

import (
	"context"
	"log/slog"
	"time"

	"github.com/monban-idp/monban/storage"
)

// auditStore is what recording a security event needs from the store.
type auditStore interface {
	storage.AuditLog
	GetUser(ctx context.Context, id string) (*storage.User, error)
}

// recordEvent writes a security event to the audit trail and the log
// (storage.AuditRecorder: one line, and a failed write never fails the
// request). An entry that names its user by ID only gets the username,
// if the user can still be read.
func recordEvent(ctx context.Context, store auditStore, log *slog.Logger, now func() time.Time, e storage.AuditEntry, attrs ...any) {
	if e.ActorID != "" && e.Actor == "" {
		if u, err := store.GetUser(ctx, e.ActorID); err == nil {
			e.Actor = u.Username
		}
	}
	rec := storage.AuditRecorder{Log: store, Logger: log, Now: now}
	rec.Record(ctx, e, attrs...)
}

// audit records a security event of the token endpoint (code or refresh
// token reuse).
func (p *Provider) audit(ctx context.Context, e storage.AuditEntry, attrs ...any) {
	recordEvent(ctx, p.store, p.log, p.now, e, attrs...)
}
