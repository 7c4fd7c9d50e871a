package postgres

import "context"

// XactCounter returns one of the backend's pending statistics counters
// of refresh_tokens (pg_stat_get_xact_tuples_<name>), for tests that run
// inside Atomically.
func (s *Store) XactCounter(ctx context.Context, name string) (n int64, err error) {
	err = s.db.QueryRow(ctx, `SELECT CASE $1
		WHEN 'hot_updated' THEN pg_stat_get_xact_tuples_hot_updated('refresh_tokens'::regclass)
		WHEN 'updated' THEN pg_stat_get_xact_tuples_updated('refresh_tokens'::regclass)
		WHEN 'inserted' THEN pg_stat_get_xact_tuples_inserted('refresh_tokens'::regclass) END`, name).Scan(&n)
	return n, err
}
