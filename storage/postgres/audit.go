package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

const auditColumns = `id, at, actor_id, actor, action, target, before, after, address, detail`

// AppendAudit implements storage.AuditLog.
func (s *Store) AppendAudit(ctx context.Context, e *storage.AuditEntry) error {
	_, err := s.db.Exec(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.ID, e.Time, e.ActorID, e.Actor, e.Action, e.Target, e.Before, e.After, e.Address, e.Detail)
	if err != nil {
		return wrapErr(err, "append audit entry %q", e.ID)
	}
	return nil
}

// ListAudit implements storage.AuditLog. IDs are ordered by bytes
// (COLLATE "C"), as Go compares strings. The WHERE clause is put together
// from fixed fragments, one per filter field that is set, so each query
// can use the index for its field (migrations/sql/00007_audit_events.sql);
// the filter's values are only ever parameters.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter, offset, limit int) ([]*storage.AuditEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(f.Actions) > 0 {
		n := arg(f.Actions)
		where = append(where, `(action = ANY(`+n+`) OR split_part(action, '.', 1) = ANY(`+n+`))`)
	}
	if f.Actor != "" {
		n := arg(f.Actor)
		where = append(where, `(actor = `+n+` OR actor_id = `+n+`)`)
	}
	if f.Target != "" {
		if t, prefix := f.TargetPrefix(); prefix {
			where = append(where, `starts_with(target COLLATE "C", `+arg(t)+`)`)
		} else {
			where = append(where, `target COLLATE "C" = `+arg(t))
		}
	}
	if !f.Since.IsZero() {
		where = append(where, `at >= `+arg(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, `at < `+arg(f.Until))
	}
	if !f.Older.IsZero() {
		where = append(where, `(at, id COLLATE "C") < (`+arg(f.Older.Time)+`, `+arg(f.Older.ID)+`)`)
	}
	q := `SELECT ` + auditColumns + ` FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY at DESC, id COLLATE "C" DESC OFFSET ` + arg(max(offset, 0)) + ` LIMIT ` + arg(limit)
	rows, _ := s.db.Query(ctx, q, args...)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.AuditEntry, error) {
		var e storage.AuditEntry
		if err := r.Scan(&e.ID, &e.Time, &e.ActorID, &e.Actor, &e.Action, &e.Target, &e.Before, &e.After,
			&e.Address, &e.Detail); err != nil {
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
