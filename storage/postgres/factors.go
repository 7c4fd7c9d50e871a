package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

// PutTOTP implements storage.Factors: an unconfirmed factor replaces an
// unconfirmed one only (the WHERE of the upsert); a confirmed one stays
// and the insert reports ErrAlreadyExists.
func (s *Store) PutTOTP(ctx context.Context, t *storage.TOTP) error {
	tag, err := s.db.Exec(ctx, `INSERT INTO totp_factors (user_id, secret, confirmed_at, last_step, created_at)
		VALUES ($1, $2, NULL, 0, $3)
		ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, last_step = 0, created_at = EXCLUDED.created_at
		WHERE totp_factors.confirmed_at IS NULL`, t.UserID, t.Secret, t.CreatedAt)
	if err != nil {
		return wrapErr(err, "put totp of %q", t.UserID)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: put totp of %q: a confirmed one exists: %w", t.UserID, storage.ErrAlreadyExists)
	}
	return nil
}

// GetTOTP implements storage.Factors.
func (s *Store) GetTOTP(ctx context.Context, userID string) (*storage.TOTP, error) {
	t := &storage.TOTP{UserID: userID}
	err := s.db.QueryRow(ctx, `SELECT secret, confirmed_at, last_step, created_at FROM totp_factors WHERE user_id = $1`,
		userID).Scan(&t.Secret, scanOptTime{&t.ConfirmedAt}, &t.LastStep, &t.CreatedAt)
	if err != nil {
		return nil, wrapErr(err, "get totp of %q", userID)
	}
	return t, nil
}

// UseTOTPStep implements storage.Factors in one conditional UPDATE.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64, at time.Time) error {
	tag, err := s.db.Exec(ctx, `UPDATE totp_factors SET last_step = $2, confirmed_at = COALESCE(confirmed_at, $3)
		WHERE user_id = $1 AND last_step < $2`, userID, step, at)
	if err != nil {
		return wrapErr(err, "use totp step of %q", userID)
	}
	if tag.RowsAffected() == 0 {
		return s.notFoundOr(ctx, storage.ErrConflict, `SELECT EXISTS (SELECT 1 FROM totp_factors WHERE user_id = $1)`,
			userID, "use totp step of %q: replayed code", userID)
	}
	return nil
}

// DeleteTOTP implements storage.Factors.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM totp_factors WHERE user_id = $1`, userID)
	if err != nil {
		return wrapErr(err, "delete totp of %q", userID)
	}
	return affected(tag.RowsAffected(), "delete totp of %q", userID)
}

// ReplaceRecoveryCodes implements storage.Factors in one transaction.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error {
	return s.locked(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&one); err != nil {
			return wrapErr(err, "replace recovery codes of %q: user", userID)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return wrapErr(err, "replace recovery codes of %q", userID)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at)
			SELECT $1, h, $3 FROM unnest($2::text[]) AS h`, userID, hashes, at); err != nil {
			return wrapErr(err, "replace recovery codes of %q", userID)
		}
		return nil
	}, "replace recovery codes of %q", userID)
}

// UseRecoveryCode implements storage.Factors in one conditional UPDATE.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error {
	tag, err := s.db.Exec(ctx, `UPDATE recovery_codes SET used_at = $3
		WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`, userID, hash, at)
	if err != nil {
		return wrapErr(err, "use recovery code of %q", userID)
	}
	return affected(tag.RowsAffected(), "use recovery code of %q", userID)
}

// CountRecoveryCodes implements storage.Factors.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	if err != nil {
		return 0, wrapErr(err, "count recovery codes of %q", userID)
	}
	return n, nil
}

// DeleteFactors implements storage.Factors.
func (s *Store) DeleteFactors(ctx context.Context, userID string) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM totp_factors WHERE user_id = $1`, userID)
	b.Queue(`DELETE FROM recovery_codes WHERE user_id = $1`, userID)
	b.Queue(`DELETE FROM webauthn_credentials WHERE user_id = $1`, userID)
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		return wrapErr(err, "delete factors of %q", userID)
	}
	return nil
}
