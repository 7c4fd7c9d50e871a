package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

const auditColumns = `id, at, actor_id, actor, action, target, before, after`

// AppendAudit implements storage.AuditLog.
func (s *Store) AppendAudit(ctx context.Context, e *storage.AuditEntry) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.ID, e.Time, e.ActorID, e.Actor, e.Action, e.Target, e.Before, e.After)
	if err != nil {
		return wrapErr(err, "append audit entry %q", e.ID)
	}
	return nil
}

// ListAudit implements storage.AuditLog. IDs are ordered by bytes
// (COLLATE "C"), as Go compares strings.
func (s *Store) ListAudit(ctx context.Context, offset, limit int) ([]*storage.AuditEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+auditColumns+` FROM audit_log
		ORDER BY at DESC, id COLLATE "C" DESC OFFSET $1 LIMIT $2`, max(offset, 0), limit)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.AuditEntry, error) {
		var e storage.AuditEntry
		if err := r.Scan(&e.ID, &e.Time, &e.ActorID, &e.Actor, &e.Action, &e.Target, &e.Before, &e.After); err != nil {
			return nil, err
		}
		return &e, nil
	})
	if err != nil {
		return nil, wrapErr(err, "list audit entries")
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
