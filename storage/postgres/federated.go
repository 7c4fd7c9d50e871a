package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

const federatedColumns = `connector_id, subject, user_id, email, groups, created_at, last_used_at`

func scanFederated(row pgx.Row) (*storage.FederatedIdentity, error) {
	f := &storage.FederatedIdentity{}
	if err := row.Scan(&f.ConnectorID, &f.Subject, &f.UserID, &f.Email, &f.Groups, &f.CreatedAt, &f.LastUsedAt); err != nil {
		return nil, err
	}
	f.CreatedAt, f.LastUsedAt = f.CreatedAt.UTC(), f.LastUsedAt.UTC()
	if len(f.Groups) == 0 {
		f.Groups = nil
	}
	return f, nil
}

// CreateFederatedIdentity implements storage.FederatedIdentities; the
// primary key refuses a linked identity and the foreign key a missing
// user.
func (s *Store) CreateFederatedIdentity(ctx context.Context, f *storage.FederatedIdentity) error {
	_, err := s.db.Exec(ctx, `INSERT INTO federated_identities (`+federatedColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		f.ConnectorID, f.Subject, f.UserID, f.Email, nonNil(f.Groups), f.CreatedAt, f.LastUsedAt)
	if err != nil {
		return wrapErr(err, "create federated identity %q/%q", f.ConnectorID, f.Subject)
	}
	return nil
}

// GetFederatedIdentity implements storage.FederatedIdentities.
func (s *Store) GetFederatedIdentity(ctx context.Context, connectorID, subject string) (*storage.FederatedIdentity, error) {
	f, err := scanFederated(s.db.QueryRow(ctx, `SELECT `+federatedColumns+` FROM federated_identities
		WHERE connector_id = $1 AND subject = $2`, connectorID, subject))
	if err != nil {
		return nil, wrapErr(err, "get federated identity %q/%q", connectorID, subject)
	}
	return f, nil
}

// ListUserFederatedIdentities implements storage.FederatedIdentities.
func (s *Store) ListUserFederatedIdentities(ctx context.Context, userID string) ([]*storage.FederatedIdentity, error) {
	rows, _ := s.db.Query(ctx, `SELECT `+federatedColumns+` FROM federated_identities
		WHERE user_id = $1 ORDER BY connector_id COLLATE "C", subject COLLATE "C"`, userID)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.FederatedIdentity, error) { return scanFederated(r) })
	if err != nil {
		return nil, wrapErr(err, "list federated identities of %q", userID)
	}
	if out == nil {
		out = []*storage.FederatedIdentity{}
	}
	return out, nil
}

// UseFederatedIdentity implements storage.FederatedIdentities.
func (s *Store) UseFederatedIdentity(ctx context.Context, connectorID, subject, email string, groups []string, at time.Time) error {
	tag, err := s.db.Exec(ctx, `UPDATE federated_identities SET email = $3, groups = $4, last_used_at = $5
		WHERE connector_id = $1 AND subject = $2`, connectorID, subject, email, nonNil(groups), at)
	if err != nil {
		return wrapErr(err, "use federated identity %q/%q", connectorID, subject)
	}
	if tag.RowsAffected() == 0 {
		return wrapErr(pgx.ErrNoRows, "use federated identity %q/%q", connectorID, subject)
	}
	return nil
}

// DeleteFederatedIdentity implements storage.FederatedIdentities.
func (s *Store) DeleteFederatedIdentity(ctx context.Context, connectorID, subject string) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM federated_identities WHERE connector_id = $1 AND subject = $2`,
		connectorID, subject)
	if err != nil {
		return wrapErr(err, "delete federated identity %q/%q", connectorID, subject)
	}
	if tag.RowsAffected() == 0 {
		return wrapErr(pgx.ErrNoRows, "delete federated identity %q/%q", connectorID, subject)
	}
	return nil
}

// ListUsersByEmail implements storage.FederatedIdentities (the index
// users_email_lower serves it).
func (s *Store) ListUsersByEmail(ctx context.Context, email string) ([]*storage.User, error) {
	out := []*storage.User{}
	if email == "" {
		return out, nil
	}
	rows, _ := s.db.Query(ctx, selectUser+` WHERE u.email <> '' AND lower(u.email) = $1 ORDER BY u.username COLLATE "C"`,
		strings.ToLower(email))
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.User, error) { return scanUser(r) })
	if err != nil {
		return nil, wrapErr(err, "list users by email")
	}
	return append(out, users...), nil
}
