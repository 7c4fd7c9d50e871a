package postgres

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

const deliveryColumns = `id, client_id, subject, session_id, created_at, next_attempt_at, attempts,
	claimed_until, last_error, failed_at`

func scanDelivery(row pgx.Row) (*storage.LogoutDelivery, error) {
	var d storage.LogoutDelivery
	err := row.Scan(&d.ID, &d.ClientID, &d.Subject, &d.SessionID, &d.CreatedAt, &d.NextAttemptAt, &d.Attempts,
		scanOptTime{&d.ClaimedUntil}, &d.LastError, scanOptTime{&d.FailedAt})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

func collectDeliveries(rows pgx.Rows) ([]*storage.LogoutDelivery, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.LogoutDelivery, error) { return scanDelivery(r) })
}

// EnqueueLogoutDeliveries implements storage.LogoutDeliveries in one
// transaction: all or nothing.
func (s *Store) EnqueueLogoutDeliveries(ctx context.Context, ds []*storage.LogoutDelivery) error {
	const op = "enqueue logout deliveries"
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return wrapErr(err, op)
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	for _, d := range ds {
		_, err := tx.Exec(ctx, `INSERT INTO logout_deliveries (`+deliveryColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			d.ID, d.ClientID, d.Subject, d.SessionID, d.CreatedAt, d.NextAttemptAt, d.Attempts,
			optTime(d.ClaimedUntil), d.LastError, optTime(d.FailedAt))
		if err != nil {
			return wrapErr(err, "%s: %q", op, d.ID)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return wrapErr(err, op)
	}
	return nil
}

// ClaimLogoutDeliveries implements storage.LogoutDeliveries. The due rows
// are locked with FOR UPDATE SKIP LOCKED, so concurrent claimers (one per
// replica) take disjoint rows without waiting for each other; a row another
// claimer committed meanwhile is re-checked against the lease condition
// under READ COMMITTED and skipped.
func (s *Store) ClaimLogoutDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*storage.LogoutDelivery, error) {
	rows, _ := s.db.Query(ctx, `UPDATE logout_deliveries SET attempts = attempts + 1, claimed_until = $2
		WHERE id IN (SELECT id FROM logout_deliveries
			WHERE failed_at IS NULL AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
			ORDER BY next_attempt_at, id COLLATE "C" LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+deliveryColumns, now, now.Add(lease), limit)
	ds, err := collectDeliveries(rows)
	if err != nil {
		return nil, wrapErr(err, "claim logout deliveries")
	}
	sortDue(ds)
	return ds, nil
}

// sortDue orders claimed deliveries as they were chosen: RETURNING does not
// keep the subquery's order.
func sortDue(ds []*storage.LogoutDelivery) {
	slices.SortFunc(ds, func(a, b *storage.LogoutDelivery) int {
		return cmp.Or(a.NextAttemptAt.Compare(b.NextAttemptAt), cmp.Compare(a.ID, b.ID))
	})
}

// CompleteLogoutDelivery implements storage.LogoutDeliveries.
func (s *Store) CompleteLogoutDelivery(ctx context.Context, id string, attempt int) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM logout_deliveries WHERE id = $1 AND attempts = $2 AND failed_at IS NULL`,
		id, attempt)
	if err != nil {
		return wrapErr(err, "complete logout delivery %q", id)
	}
	return affected(tag.RowsAffected(), "complete logout delivery %q attempt %d", id, attempt)
}

// RetryLogoutDelivery implements storage.LogoutDeliveries.
func (s *Store) RetryLogoutDelivery(ctx context.Context, id string, attempt int, next time.Time, lastError string) error {
	tag, err := s.db.Exec(ctx, `UPDATE logout_deliveries SET next_attempt_at = $3, claimed_until = NULL, last_error = $4
		WHERE id = $1 AND attempts = $2 AND failed_at IS NULL`, id, attempt, next, lastError)
	if err != nil {
		return wrapErr(err, "retry logout delivery %q", id)
	}
	return affected(tag.RowsAffected(), "retry logout delivery %q attempt %d", id, attempt)
}

// FailLogoutDelivery implements storage.LogoutDeliveries.
func (s *Store) FailLogoutDelivery(ctx context.Context, id string, attempt int, at time.Time, lastError string) error {
	tag, err := s.db.Exec(ctx, `UPDATE logout_deliveries SET failed_at = $3, claimed_until = NULL, last_error = $4
		WHERE id = $1 AND attempts = $2 AND failed_at IS NULL`, id, attempt, at, lastError)
	if err != nil {
		return wrapErr(err, "fail logout delivery %q", id)
	}
	return affected(tag.RowsAffected(), "fail logout delivery %q attempt %d", id, attempt)
}

// ListFailedLogoutDeliveries implements storage.LogoutDeliveries.
func (s *Store) ListFailedLogoutDeliveries(ctx context.Context) ([]*storage.LogoutDelivery, error) {
	rows, _ := s.db.Query(ctx, `SELECT `+deliveryColumns+` FROM logout_deliveries
		WHERE failed_at IS NOT NULL ORDER BY failed_at DESC, id COLLATE "C"`)
	ds, err := collectDeliveries(rows)
	if err != nil {
		return nil, wrapErr(err, "list failed logout deliveries")
	}
	return ds, nil
}
