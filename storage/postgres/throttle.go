package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

const throttleColumns = `key, failures, window_start, locked_until, expires_at`

func scanThrottle(row pgx.Row) (*storage.LoginThrottle, error) {
	var t storage.LoginThrottle
	if err := row.Scan(&t.Key, &t.Failures, &t.WindowStart, scanOptTime{&t.LockedUntil}, &t.ExpiresAt); err != nil {
		return nil, err
	}
	return &t, nil
}

// RecordLoginFailure implements storage.LoginThrottles. One transaction
// creates or locks the row in one upsert (INSERT … ON CONFLICT DO UPDATE
// … RETURNING: the row exists and is locked afterwards even if a
// concurrent ClearLoginFailures deleted it a moment before), applies the
// policy's rule in Go and writes the result back: concurrent attempts on
// one key wait for each other, so each is counted exactly once.
func (s *Store) RecordLoginFailure(ctx context.Context, key string, now time.Time, policy storage.ThrottlePolicy) (*storage.LoginThrottle, bool, error) {
	var (
		out      storage.LoginThrottle
		admitted bool
	)
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		cur, err := scanThrottle(tx.QueryRow(ctx, `INSERT INTO login_throttles (`+throttleColumns+`)
			VALUES ($1, 0, $2, NULL, $2) ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key
			RETURNING `+throttleColumns, key, now))
		if err != nil {
			return err
		}
		out, admitted = policy.Record(*cur, now)
		_, err = tx.Exec(ctx, `UPDATE login_throttles SET failures = $2, window_start = $3, locked_until = $4, expires_at = $5
			WHERE key = $1`, key, out.Failures, out.WindowStart, optTime(out.LockedUntil), out.ExpiresAt)
		return err
	})
	if err != nil {
		return nil, false, wrapErr(err, "record login failure")
	}
	return &out, admitted, nil
}

// GetLoginThrottle implements storage.LoginThrottles.
func (s *Store) GetLoginThrottle(ctx context.Context, key string) (*storage.LoginThrottle, error) {
	t, err := scanThrottle(s.db.QueryRow(ctx, `SELECT `+throttleColumns+` FROM login_throttles WHERE key = $1`, key))
	if err != nil {
		return nil, wrapErr(err, "get login throttle")
	}
	return t, nil
}

// ClearLoginFailures implements storage.LoginThrottles.
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM login_throttles WHERE key = $1`, key); err != nil {
		return wrapErr(err, "clear login failures")
	}
	return nil
}
