package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

// queuedColumns are the columns of storage.Queued, first in every outbox
// table.
const queuedColumns = `id, created_at, next_attempt_at, attempts, claimed_until, last_error, failed_at`

// queueKind describes one outbox table: what is particular to it.
// Everything else is queue's.
type queueKind[T storage.QueueItem] struct {
	what    string // in errors, e.g. "mail"
	table   string
	columns string        // the payload's columns, after queuedColumns
	new     func() T      // an empty item
	fields  func(T) []any // pointers to the payload's fields, in columns' order
	failSet string        // more assignments when an item is given up
	ncols   int           // 7 + the payload's columns
}

var (
	mailKind = newQueueKind("mail", "mail_outbox", "kind, recipient, recipient_name, subject, body_text, body_html",
		func() *storage.Mail { return new(storage.Mail) },
		func(m *storage.Mail) []any { return []any{&m.Kind, &m.To, &m.ToName, &m.Subject, &m.Text, &m.HTML} },
		", body_text = '', body_html = ''")
	logoutKind = newQueueKind("logout delivery", "logout_deliveries", "client_id, subject, session_id",
		func() *storage.LogoutDelivery { return new(storage.LogoutDelivery) },
		func(d *storage.LogoutDelivery) []any { return []any{&d.ClientID, &d.Subject, &d.SessionID} }, "")
)

func newQueueKind[T storage.QueueItem](what, table, columns string, newItem func() T, fields func(T) []any, failSet string) *queueKind[T] {
	return &queueKind[T]{what: what, table: table, columns: queuedColumns + ", " + columns,
		new: newItem, fields: fields, failSet: failSet, ncols: 7 + strings.Count(columns, ",") + 1}
}

// MailOutbox implements storage.Outbox.
func (s *Store) MailOutbox() storage.Queue[*storage.Mail] { return queue[*storage.Mail]{s, mailKind} }

// LogoutOutbox implements storage.LogoutDeliveries.
func (s *Store) LogoutOutbox() storage.Queue[*storage.LogoutDelivery] {
	return queue[*storage.LogoutDelivery]{s, logoutKind}
}

// queue is storage.Queue on one table.
type queue[T storage.QueueItem] struct {
	s *Store
	*queueKind[T]
}

// row returns the item's columns: pointers to scan into, or values to
// insert (pgx dereferences them).
func (q queue[T]) row(it T) []any {
	st := it.State()
	return append([]any{&st.ID, &st.CreatedAt, &st.NextAttemptAt, &st.Attempts,
		scanOptTime{&st.ClaimedUntil}, &st.LastError, scanOptTime{&st.FailedAt}}, q.fields(it)...)
}

func (q queue[T]) collect(rows pgx.Rows) ([]T, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) {
		it := q.new()
		return it, r.Scan(q.row(it)...)
	})
}

// Enqueue implements storage.Queue with one multi-row INSERT: all or
// nothing without a transaction of its own.
func (q queue[T]) Enqueue(ctx context.Context, items ...T) error {
	if len(items) == 0 {
		return nil
	}
	var sql strings.Builder
	args := make([]any, 0, len(items)*q.ncols)
	fmt.Fprintf(&sql, "INSERT INTO %s (%s) VALUES ", q.table, q.columns)
	for i, it := range items {
		st := it.State()
		args = append(append(args, st.ID, st.CreatedAt, st.NextAttemptAt, st.Attempts,
			optTime(st.ClaimedUntil), st.LastError, optTime(st.FailedAt)), q.fields(it)...)
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(")
		for c := range q.ncols {
			if c > 0 {
				sql.WriteString(", ")
			}
			fmt.Fprintf(&sql, "$%d", i*q.ncols+c+1)
		}
		sql.WriteString(")")
	}
	if _, err := q.s.db.Exec(ctx, sql.String(), args...); err != nil {
		return wrapErr(err, "enqueue %s %q", q.what, items[0].State().ID)
	}
	return nil
}

// Claim implements storage.Queue. The due rows are locked with FOR UPDATE
// SKIP LOCKED, so concurrent claimers (one per replica) take disjoint rows
// without waiting for each other; a row another claimer committed
// meanwhile is re-checked against the lease condition under READ
// COMMITTED and skipped.
func (q queue[T]) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]T, error) {
	rows, _ := q.s.db.Query(ctx, `UPDATE `+q.table+` SET attempts = attempts + 1, claimed_until = $2
		WHERE id IN (SELECT id FROM `+q.table+`
			WHERE failed_at IS NULL AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
			ORDER BY next_attempt_at, id COLLATE "C" LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+q.columns, now, now.Add(lease), limit)
	items, err := q.collect(rows)
	if err != nil {
		return nil, wrapErr(err, "claim %s", q.what)
	}
	// RETURNING does not keep the subquery's order.
	slices.SortFunc(items, func(a, b T) int {
		sa, sb := a.State(), b.State()
		return cmp.Or(sa.NextAttemptAt.Compare(sb.NextAttemptAt), cmp.Compare(sa.ID, sb.ID))
	})
	return items, nil
}

// Complete implements storage.Queue.
func (q queue[T]) Complete(ctx context.Context, id string, attempt int) error {
	tag, err := q.s.db.Exec(ctx, `DELETE FROM `+q.table+` WHERE id = $1 AND attempts = $2 AND failed_at IS NULL`,
		id, attempt)
	if err != nil {
		return wrapErr(err, "complete %s %q", q.what, id)
	}
	return affected(tag.RowsAffected(), "complete %s %q attempt %d", q.what, id, attempt)
}

// Retry implements storage.Queue.
func (q queue[T]) Retry(ctx context.Context, id string, attempt int, next time.Time, lastError string) error {
	return q.release(ctx, "retry", `next_attempt_at = $3`, id, attempt, next, lastError)
}

// Fail implements storage.Queue.
func (q queue[T]) Fail(ctx context.Context, id string, attempt int, at time.Time, lastError string) error {
	return q.release(ctx, "fail", `failed_at = $3`+q.failSet, id, attempt, at, lastError)
}

// release ends the lease of the item claimed as attempt, setting set
// ($3 is the time) and the reason.
func (q queue[T]) release(ctx context.Context, op, set, id string, attempt int, t time.Time, lastError string) error {
	tag, err := q.s.db.Exec(ctx, `UPDATE `+q.table+` SET `+set+`, claimed_until = NULL, last_error = $4
		WHERE id = $1 AND attempts = $2 AND failed_at IS NULL`, id, attempt, t, lastError)
	if err != nil {
		return wrapErr(err, "%s %s %q", op, q.what, id)
	}
	return affected(tag.RowsAffected(), "%s %s %q attempt %d", op, q.what, id, attempt)
}

// ListFailed implements storage.Queue.
func (q queue[T]) ListFailed(ctx context.Context) ([]T, error) {
	rows, _ := q.s.db.Query(ctx, `SELECT `+q.columns+` FROM `+q.table+`
		WHERE failed_at IS NOT NULL ORDER BY failed_at DESC, id COLLATE "C"`)
	items, err := q.collect(rows)
	if err != nil {
		return nil, wrapErr(err, "list failed %s", q.what)
	}
	return items, nil
}

// Count implements storage.Queue.
func (q queue[T]) Count(ctx context.Context) (pending, failed int, err error) {
	err = q.s.db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE failed_at IS NULL),
		count(*) FILTER (WHERE failed_at IS NOT NULL) FROM `+q.table).Scan(&pending, &failed)
	if err != nil {
		return 0, 0, wrapErr(err, "count %s", q.what)
	}
	return pending, failed, nil
}
