package postgres

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

const mailColumns = `id, kind, recipient, recipient_name, subject, body_text, body_html, created_at,
	next_attempt_at, attempts, claimed_until, last_error, failed_at`

func collectMail(rows pgx.Rows) ([]*storage.Mail, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.Mail, error) {
		var m storage.Mail
		err := r.Scan(&m.ID, &m.Kind, &m.To, &m.ToName, &m.Subject, &m.Text, &m.HTML, &m.CreatedAt,
			&m.NextAttemptAt, &m.Attempts, scanOptTime{&m.ClaimedUntil}, &m.LastError, scanOptTime{&m.FailedAt})
		if err != nil {
			return nil, err
		}
		return &m, nil
	})
}

// EnqueueMail implements storage.Outbox.
func (s *Store) EnqueueMail(ctx context.Context, m *storage.Mail) error {
	_, err := s.db.Exec(ctx, `INSERT INTO mail_outbox (`+mailColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		m.ID, m.Kind, m.To, m.ToName, m.Subject, m.Text, m.HTML, m.CreatedAt, m.NextAttemptAt, m.Attempts,
		optTime(m.ClaimedUntil), m.LastError, optTime(m.FailedAt))
	if err != nil {
		return wrapErr(err, "enqueue mail %q", m.ID)
	}
	return nil
}

// ClaimMail implements storage.Outbox with FOR UPDATE SKIP LOCKED, as
// ClaimLogoutDeliveries: concurrent claimers take disjoint rows.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*storage.Mail, error) {
	rows, _ := s.db.Query(ctx, `UPDATE mail_outbox SET attempts = attempts + 1, claimed_until = $2
		WHERE id IN (SELECT id FROM mail_outbox
			WHERE failed_at IS NULL AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
			ORDER BY next_attempt_at, id COLLATE "C" LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+mailColumns, now, now.Add(lease), limit)
	ms, err := collectMail(rows)
	if err != nil {
		return nil, wrapErr(err, "claim mail")
	}
	slices.SortFunc(ms, func(a, b *storage.Mail) int {
		return cmp.Or(a.NextAttemptAt.Compare(b.NextAttemptAt), cmp.Compare(a.ID, b.ID))
	})
	return ms, nil
}

// CompleteMail implements storage.Outbox.
func (s *Store) CompleteMail(ctx context.Context, id string, attempt int) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM mail_outbox WHERE id = $1 AND attempts = $2 AND failed_at IS NULL`, id, attempt)
	if err != nil {
		return wrapErr(err, "complete mail %q", id)
	}
	return affected(tag.RowsAffected(), "complete mail %q attempt %d", id, attempt)
}

// RetryMail implements storage.Outbox.
func (s *Store) RetryMail(ctx context.Context, id string, attempt int, next time.Time, lastError string) error {
	tag, err := s.db.Exec(ctx, `UPDATE mail_outbox SET next_attempt_at = $3, claimed_until = NULL, last_error = $4
		WHERE id = $1 AND attempts = $2 AND failed_at IS NULL`, id, attempt, next, lastError)
	if err != nil {
		return wrapErr(err, "retry mail %q", id)
	}
	return affected(tag.RowsAffected(), "retry mail %q attempt %d", id, attempt)
}

// FailMail implements storage.Outbox.
func (s *Store) FailMail(ctx context.Context, id string, attempt int, at time.Time, lastError string) error {
	tag, err := s.db.Exec(ctx, `UPDATE mail_outbox SET failed_at = $3, claimed_until = NULL, last_error = $4,
		body_text = '', body_html = ''
		WHERE id = $1 AND attempts = $2 AND failed_at IS NULL`, id, attempt, at, lastError)
	if err != nil {
		return wrapErr(err, "fail mail %q", id)
	}
	return affected(tag.RowsAffected(), "fail mail %q attempt %d", id, attempt)
}

// ListFailedMail implements storage.Outbox.
func (s *Store) ListFailedMail(ctx context.Context) ([]*storage.Mail, error) {
	rows, _ := s.db.Query(ctx, `SELECT `+mailColumns+` FROM mail_outbox
		WHERE failed_at IS NOT NULL ORDER BY failed_at DESC, id COLLATE "C"`)
	ms, err := collectMail(rows)
	if err != nil {
		return nil, wrapErr(err, "list failed mail")
	}
	return ms, nil
}

// CountMail implements storage.Outbox.
func (s *Store) CountMail(ctx context.Context) (pending, failed int, err error) {
	err = s.db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE failed_at IS NULL),
		count(*) FILTER (WHERE failed_at IS NOT NULL) FROM mail_outbox`).Scan(&pending, &failed)
	if err != nil {
		return 0, 0, wrapErr(err, "count mail")
	}
	return pending, failed, nil
}

const userTokenColumns = `token_hash, user_id, purpose, email, stamp, created_at, expires_at`

func scanUserToken(row pgx.Row) (*storage.UserToken, error) {
	var t storage.UserToken
	if err := row.Scan(&t.Hash, &t.UserID, &t.Purpose, &t.Email, &t.Stamp, &t.CreatedAt, &t.ExpiresAt); err != nil {
		return nil, err
	}
	return &t, nil
}

// CreateUserToken implements storage.UserTokens in one transaction.
func (s *Store) CreateUserToken(ctx context.Context, t *storage.UserToken) error {
	const op = "create user token"
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return wrapErr(err, op)
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	if _, err := tx.Exec(ctx, `DELETE FROM user_tokens WHERE user_id = $1 AND purpose = $2`, t.UserID, t.Purpose); err != nil {
		return wrapErr(err, op)
	}
	_, err = tx.Exec(ctx, `INSERT INTO user_tokens (`+userTokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.Hash, t.UserID, t.Purpose, t.Email, t.Stamp, t.CreatedAt, t.ExpiresAt)
	if err != nil {
		return wrapErr(err, op)
	}
	if err := tx.Commit(ctx); err != nil {
		return wrapErr(err, op)
	}
	return nil
}

// GetUserToken implements storage.UserTokens.
func (s *Store) GetUserToken(ctx context.Context, hash, purpose string, now time.Time) (*storage.UserToken, error) {
	t, err := scanUserToken(s.db.QueryRow(ctx, `SELECT `+userTokenColumns+` FROM user_tokens
		WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3`, hash, purpose, now))
	if err != nil {
		return nil, wrapErr(err, "get user token")
	}
	return t, nil
}

// ConsumeUserToken implements storage.UserTokens: one DELETE … RETURNING,
// so of concurrent callers exactly one gets the row.
func (s *Store) ConsumeUserToken(ctx context.Context, hash, purpose string, now time.Time) (*storage.UserToken, error) {
	t, err := scanUserToken(s.db.QueryRow(ctx, `DELETE FROM user_tokens WHERE token_hash = $1 AND purpose = $2
		RETURNING `+userTokenColumns, hash, purpose))
	if err != nil {
		return nil, wrapErr(err, "consume user token")
	}
	if !now.Before(t.ExpiresAt) {
		return nil, wrapErr(pgx.ErrNoRows, "consume user token: expired")
	}
	return t, nil
}

// DeleteUserTokens implements storage.UserTokens.
func (s *Store) DeleteUserTokens(ctx context.Context, userID, purpose string) (int, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM user_tokens WHERE user_id = $1 AND purpose = $2`, userID, purpose)
	if err != nil {
		return 0, wrapErr(err, "delete user tokens")
	}
	return int(tag.RowsAffected()), nil
}
