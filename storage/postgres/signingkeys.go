package postgres

import (
	"context"

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

// CreateSigningKey implements storage.SigningKeys.
func (s *Store) CreateSigningKey(ctx context.Context, k *storage.SigningKey) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, signingKeyArgs(k)...)
	if err != nil {
		return wrapErr(err, "create signing key %q", k.ID)
	}
	return nil
}

// ListSigningKeys implements storage.SigningKeys: oldest first, ties broken
// by ID.
func (s *Store) ListSigningKeys(ctx context.Context) ([]*storage.SigningKey, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys
		ORDER BY created_at, id COLLATE "C"`)
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.SigningKey, error) { return scanSigningKey(r) })
	if err != nil {
		return nil, wrapErr(err, "list signing keys")
	}
	return keys, nil
}

// UpdateSigningKey implements storage.SigningKeys.
func (s *Store) UpdateSigningKey(ctx context.Context, k *storage.SigningKey) error {
	tag, err := s.pool.Exec(ctx, `UPDATE signing_keys SET algorithm = $2, state = $3, encrypted_key = $4,
		created_at = $5, activated_at = $6, retired_at = $7, remove_after = $8
		WHERE id = $1`, signingKeyArgs(k)...)
	if err != nil {
		return wrapErr(err, "update signing key %q", k.ID)
	}
	return affected(tag.RowsAffected(), "update signing key %q", k.ID)
}

// DeleteSigningKey implements storage.SigningKeys.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM signing_keys WHERE id = $1`, id)
	if err != nil {
		return wrapErr(err, "delete signing key %q", id)
	}
	return affected(tag.RowsAffected(), "delete signing key %q", id)
}
