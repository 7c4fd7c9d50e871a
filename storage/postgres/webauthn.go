package postgres

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

// credName is a credential ID as text for errors.
func credName(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

const webauthnColumns = `credential_id, user_id, public_key, sign_count, backup_eligible, backup_state,
	transports, aaguid, name, created_at, last_used_at`

// AddWebAuthnCredential implements storage.WebAuthnCredentials; the
// primary key refuses a credential ID registered already and the foreign
// key a missing user.
func (s *Store) AddWebAuthnCredential(ctx context.Context, c *storage.WebAuthnCredential) error {
	transports := c.Transports
	if transports == nil {
		transports = []string{}
	}
	aaguid := c.AAGUID
	if aaguid == nil {
		aaguid = []byte{}
	}
	_, err := s.db.Exec(ctx, `INSERT INTO webauthn_credentials (`+webauthnColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.ID, c.UserID, c.PublicKey, int64(c.SignCount), c.BackupEligible, c.BackupState,
		transports, aaguid, c.Name, c.CreatedAt, optTime(c.LastUsedAt))
	if err != nil {
		return wrapErr(err, "add webauthn credential %q of %q", credName(c.ID), c.UserID)
	}
	return nil
}

func scanWebAuthn(row pgx.Row) (*storage.WebAuthnCredential, error) {
	c := &storage.WebAuthnCredential{}
	var count int64
	err := row.Scan(&c.ID, &c.UserID, &c.PublicKey, &count, &c.BackupEligible, &c.BackupState,
		&c.Transports, &c.AAGUID, &c.Name, &c.CreatedAt, scanOptTime{&c.LastUsedAt})
	if err != nil {
		return nil, err
	}
	c.SignCount, c.CreatedAt = uint32(count), c.CreatedAt.UTC()
	if len(c.Transports) == 0 {
		c.Transports = nil
	}
	return c, nil
}

// ListWebAuthnCredentials implements storage.WebAuthnCredentials.
func (s *Store) ListWebAuthnCredentials(ctx context.Context, userID string) ([]*storage.WebAuthnCredential, error) {
	rows, err := s.db.Query(ctx, `SELECT `+webauthnColumns+` FROM webauthn_credentials
		WHERE user_id = $1 ORDER BY created_at, credential_id`, userID)
	if err != nil {
		return nil, wrapErr(err, "list webauthn credentials of %q", userID)
	}
	defer rows.Close()
	var out []*storage.WebAuthnCredential
	for rows.Next() {
		c, err := scanWebAuthn(rows)
		if err != nil {
			return nil, wrapErr(err, "list webauthn credentials of %q", userID)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(err, "list webauthn credentials of %q", userID)
	}
	return out, nil
}

// GetWebAuthnCredential implements storage.WebAuthnCredentials.
func (s *Store) GetWebAuthnCredential(ctx context.Context, id []byte) (*storage.WebAuthnCredential, error) {
	c, err := scanWebAuthn(s.db.QueryRow(ctx, `SELECT `+webauthnColumns+` FROM webauthn_credentials
		WHERE credential_id = $1`, id))
	if err != nil {
		return nil, wrapErr(err, "get webauthn credential %q", credName(id))
	}
	return c, nil
}

// UseWebAuthnCredential implements storage.WebAuthnCredentials in one
// conditional UPDATE: the counter check (WebAuthn §7.2 step 22) is in
// its WHERE, so two concurrent assertions with one counter value cannot
// both pass.
func (s *Store) UseWebAuthnCredential(ctx context.Context, id []byte, signCount uint32, backupState bool, at time.Time) error {
	tag, err := s.db.Exec(ctx, `UPDATE webauthn_credentials
		SET sign_count = $2, backup_state = $3, last_used_at = $4
		WHERE credential_id = $1 AND ((sign_count = 0 AND $2 = 0) OR $2 > sign_count)`,
		id, int64(signCount), backupState, at)
	if err != nil {
		return wrapErr(err, "use webauthn credential %q", credName(id))
	}
	if tag.RowsAffected() == 0 {
		return s.notFoundOr(ctx, storage.ErrConflict,
			`SELECT EXISTS (SELECT 1 FROM webauthn_credentials WHERE credential_id = $1)`, id,
			"use webauthn credential %q: sign count %d does not grow", credName(id), signCount)
	}
	return nil
}

// RenameWebAuthnCredential implements storage.WebAuthnCredentials.
func (s *Store) RenameWebAuthnCredential(ctx context.Context, userID string, id []byte, name string) error {
	tag, err := s.db.Exec(ctx, `UPDATE webauthn_credentials SET name = $3 WHERE user_id = $1 AND credential_id = $2`,
		userID, id, name)
	if err != nil {
		return wrapErr(err, "rename webauthn credential %q", credName(id))
	}
	return affected(tag.RowsAffected(), "rename webauthn credential %q of %q", credName(id), userID)
}

// DeleteWebAuthnCredential implements storage.WebAuthnCredentials.
func (s *Store) DeleteWebAuthnCredential(ctx context.Context, userID string, id []byte) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM webauthn_credentials WHERE user_id = $1 AND credential_id = $2`, userID, id)
	if err != nil {
		return wrapErr(err, "delete webauthn credential %q", credName(id))
	}
	return affected(tag.RowsAffected(), "delete webauthn credential %q of %q", credName(id), userID)
}
