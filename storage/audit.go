package storage

import (
	"context"
	"time"
)

// AuditEntry records one change made in the admin console: who did what to
// which object, when, and the object before and after.
type AuditEntry struct {
	ID      string
	Time    time.Time
	ActorID string // the administrator's user ID
	Actor   string // their username at the time
	// Action names the change, e.g. "client.create", "user.disable".
	Action string
	// Target names the changed object, e.g. "client:shop", "user:<id>".
	Target string
	// Before and After are JSON snapshots of the object, with secrets and
	// password hashes redacted; empty when there is none (a creation has
	// no Before, a deletion no After).
	Before string
	After  string
}

// AuditLog stores the admin audit trail. Entries are never changed or
// removed through this interface.
type AuditLog interface {
	// AppendAudit inserts e. ErrAlreadyExists if the ID is taken.
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns up to limit entries, newest first (by Time, then
	// by ID descending), skipping the first offset.
	ListAudit(ctx context.Context, offset, limit int) ([]*AuditEntry, error)
}
