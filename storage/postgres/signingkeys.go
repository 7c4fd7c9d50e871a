package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

const signingKeyColumns = `id, algorithm, state, encrypted_key, created_at, activated_at, retired_at, remove_after`

func scanSigningKey(row pgx.Row) (*storage.SigningKey, error) {
	var k storage.SigningKey
	err := row.Scan(&k.ID, &k.Algorithm, &k.State, &k.EncryptedKey, &k.CreatedAt,
		scanOptTime{&k.ActivatedAt}, scanOptTime{&k.RetiredAt}, scanOptTime{&k.RemoveAfter})
	if err != nil {
		return nil, err
	}
	return &k, nil
}

func signingKeyArgs(k *storage.SigningKey) []any {
	return []any{k.ID, k.Algorithm, k.State, k.EncryptedKey, k.CreatedAt,
		optTime(k.ActivatedAt), optTime(k.RetiredAt), optTime(k.RemoveAfter)}
}

// CreateSigningKey implements storage.SigningKeys. A second next or current
// key of an algorithm violates a partial unique index (migration 00002) and
// is ErrAlreadyExists, like a taken ID.
func (s *Store) CreateSigningKey(ctx context.Context, k *storage.SigningKey) error {
	_, err := s.db.Exec(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, signingKeyArgs(k)...)
	if err != nil {
		return wrapErr(err, "create signing key %q", k.ID)
	}
	return nil
}

// ListSigningKeys implements storage.SigningKeys: oldest first, ties broken
// by ID.
func (s *Store) ListSigningKeys(ctx context.Context) ([]*storage.SigningKey, error) {
	rows, _ := s.db.Query(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys
		ORDER BY created_at, id COLLATE "C"`)
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.SigningKey, error) { return scanSigningKey(r) })
	if err != nil {
		return nil, wrapErr(err, "list signing keys")
	}
	return keys, nil
}

// PromoteSigningKey implements storage.SigningKeys in one transaction. The
// next key's row is locked first: a concurrent promotion of the same key
// waits for it and then, under READ COMMITTED, sees the committed state
// (current) and gets ErrConflict. The old current key is retired before the
// next one becomes current, because the partial unique index
// signing_keys_one_current_per_algorithm is checked row by row.
func (s *Store) PromoteSigningKey(ctx context.Context, id string, at, removeAfter time.Time) error {
	const op = "promote signing key %q"
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return wrapErr(err, op, id)
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	var alg, state string
	if err := tx.QueryRow(ctx, `SELECT algorithm, state FROM signing_keys WHERE id = $1 FOR UPDATE`, id).Scan(&alg, &state); err != nil {
		return wrapErr(err, op, id)
	}
	if state != storage.KeyNext {
		return fmt.Errorf("postgres: "+op+": it is %s, not next: %w", id, state, storage.ErrConflict)
	}
	if _, err := tx.Exec(ctx, `UPDATE signing_keys SET state = 'retired', retired_at = $2, remove_after = $3
		WHERE algorithm = $1 AND state = 'current'`, alg, at, removeAfter); err != nil {
		return wrapErr(err, op+": retire the current key", id)
	}
	if _, err := tx.Exec(ctx, `UPDATE signing_keys SET state = 'current', activated_at = $2 WHERE id = $1`, id, at); err != nil {
		return wrapErr(err, op, id)
	}
	if err := tx.Commit(ctx); err != nil {
		return wrapErr(err, op, id)
	}
	return nil
}

// UpdateSigningKeyCiphertext implements storage.SigningKeys. It writes only
// the ciphertext, so it cannot undo a concurrent state change.
func (s *Store) UpdateSigningKeyCiphertext(ctx context.Context, id string, encryptedKey []byte) error {
	tag, err := s.db.Exec(ctx, `UPDATE signing_keys SET encrypted_key = $2 WHERE id = $1`, id, encryptedKey)
	if err != nil {
		return wrapErr(err, "update signing key ciphertext %q", id)
	}
	return affected(tag.RowsAffected(), "update signing key ciphertext %q", id)
}

// DeleteRetiredSigningKeys implements storage.SigningKeys.
func (s *Store) DeleteRetiredSigningKeys(ctx context.Context, now time.Time) ([]string, error) {
	rows, _ := s.db.Query(ctx, `DELETE FROM signing_keys
		WHERE state = 'retired' AND remove_after < $1 RETURNING id`, now)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrapErr(err, "delete retired signing keys")
	}
	slices.Sort(ids)
	return ids, nil
}

// DeleteSigningKey implements storage.SigningKeys.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM signing_keys WHERE id = $1`, id)
	if err != nil {
		return wrapErr(err, "delete signing key %q", id)
	}
	return affected(tag.RowsAffected(), "delete signing key %q", id)
}
