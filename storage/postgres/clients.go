package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

const clientColumns = `id, name, secret_hash, auth_method, application_type,
	redirect_uris, post_logout_redirect_uris, grant_types, scopes, require_consent,
	id_token_signing_alg, access_token_ttl, id_token_ttl, refresh_token_ttl,
	backchannel_logout_uri, backchannel_logout_session_required, disabled, created_at, updated_at,
	allowed_groups, claim_mappings, require_mfa, jwks, jwks_uri, require_par,
	dpop_bound_access_tokens, token_exchange_audiences, registration_token_hash, managed,
	omit_refresh_id_token`

func scanClient(row pgx.Row) (*storage.Client, error) {
	var c storage.Client
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &c.AuthMethod, &c.ApplicationType,
		&c.RedirectURIs, &c.PostLogoutRedirectURIs, &c.GrantTypes, &c.Scopes, &c.RequireConsent,
		&c.IDTokenSigningAlg, &c.AccessTokenTTL, &c.IDTokenTTL, &c.RefreshTokenTTL,
		&c.BackchannelLogoutURI, &c.BackchannelLogoutSessionRequired, &c.Disabled, &c.CreatedAt, &c.UpdatedAt,
		&c.AllowedGroups, &c.ClaimMappings, &c.RequireMFA, &c.JWKS, &c.JWKSURI, &c.RequirePAR,
		&c.DPoPBoundAccessTokens, &c.TokenExchangeAudiences, &c.RegistrationTokenHash, &c.Managed,
		&c.OmitRefreshIDToken)
	if err != nil {
		return nil, err
	}
	if len(c.ClaimMappings) == 0 {
		c.ClaimMappings = nil
	}
	return &c, nil
}

func clientArgs(c *storage.Client) []any {
	return []any{c.ID, c.Name, c.SecretHash, c.AuthMethod, c.ApplicationType,
		c.RedirectURIs, c.PostLogoutRedirectURIs, c.GrantTypes, c.Scopes, c.RequireConsent,
		c.IDTokenSigningAlg, c.AccessTokenTTL, c.IDTokenTTL, c.RefreshTokenTTL,
		c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired, c.Disabled, c.CreatedAt, c.UpdatedAt,
		c.AllowedGroups, claimMappingsJSON(c.ClaimMappings), c.RequireMFA, c.JWKS, c.JWKSURI, c.RequirePAR,
		c.DPoPBoundAccessTokens, c.TokenExchangeAudiences, c.RegistrationTokenHash, c.Managed,
		c.OmitRefreshIDToken}
}

// claimMappingsJSON is the claim_mappings column's value: never null.
func claimMappingsJSON(m []storage.ClaimMapping) string {
	if len(m) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(m) // plain strings: cannot fail
	return string(b)
}

// CreateClient implements storage.Clients.
func (s *Store) CreateClient(ctx context.Context, c *storage.Client) error {
	_, err := s.db.Exec(ctx, `INSERT INTO clients (`+clientColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)`,
		clientArgs(c)...)
	if err != nil {
		return wrapErr(err, "create client %q", c.ID)
	}
	return nil
}

// GetClient implements storage.Clients.
func (s *Store) GetClient(ctx context.Context, id string) (*storage.Client, error) {
	c, err := scanClient(s.db.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
	if err != nil {
		return nil, wrapErr(err, "get client %q", id)
	}
	return c, nil
}

// ListClients implements storage.Clients, ordered by ID bytes.
func (s *Store) ListClients(ctx context.Context) ([]*storage.Client, error) {
	rows, _ := s.db.Query(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY id COLLATE "C"`)
	clients, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storage.Client, error) { return scanClient(r) })
	if err != nil {
		return nil, wrapErr(err, "list clients")
	}
	return clients, nil
}

// UpdateClient implements storage.Clients: the row is read with SELECT …
// FOR UPDATE and written back in the same transaction, as UpdateUser does.
func (s *Store) UpdateClient(ctx context.Context, id string, fn func(*storage.Client) error) (*storage.Client, error) {
	var out *storage.Client
	err := s.locked(ctx, func(tx pgx.Tx) error {
		old, err := scanClient(tx.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return wrapErr(err, "update client %q", id)
		}
		c := *old
		if err := fn(&c); err != nil {
			return fnError{err}
		}
		c.ID, c.CreatedAt = old.ID, old.CreatedAt
		_, err = tx.Exec(ctx, `UPDATE clients SET name = $2, secret_hash = $3, auth_method = $4,
			application_type = $5, redirect_uris = $6, post_logout_redirect_uris = $7, grant_types = $8,
			scopes = $9, require_consent = $10, id_token_signing_alg = $11, access_token_ttl = $12,
			id_token_ttl = $13, refresh_token_ttl = $14, backchannel_logout_uri = $15,
			backchannel_logout_session_required = $16, disabled = $17, created_at = $18, updated_at = $19,
			allowed_groups = $20, claim_mappings = $21, require_mfa = $22, jwks = $23, jwks_uri = $24, require_par = $25,
			dpop_bound_access_tokens = $26, token_exchange_audiences = $27, registration_token_hash = $28, managed = $29,
			omit_refresh_id_token = $30
			WHERE id = $1`,
			clientArgs(&c)...)
		if err != nil {
			return wrapErr(err, "update client %q", id)
		}
		out = &c
		return nil
	}, "update client %q", id)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteClient implements storage.Clients. The client's pending
// authorization requests, consents and refresh tokens go with it (ON DELETE
// CASCADE), so a client registered again under the same ID inherits none
// of them.
//
// Its cascade locks the client's refresh tokens, which a rotation of one
// of them may hold while it waits for the client's row (its foreign key's
// KEY SHARE lock): PostgreSQL then aborts one of the two (deadlock
// detected, ErrConflict). Outside Atomically the deletion is tried again.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.deleteParent(ctx, `DELETE FROM clients WHERE id = $1`, id, "delete client %q")
}

// deleteParent runs the DELETE of a row other tables cascade from,
// trying again after a deadlock with a concurrent writer of those tables
// (retryConflict) unless it runs inside Atomically, whose transaction
// the deadlock has aborted.
func (s *Store) deleteParent(ctx context.Context, query, id, op string) error {
	once := func() error {
		tag, err := s.db.Exec(ctx, query, id)
		if err != nil {
			return wrapErr(err, op, id)
		}
		return affected(tag.RowsAffected(), op, id)
	}
	if _, inTx := s.db.(pgx.Tx); inTx {
		return once()
	}
	return retryConflict(once)
}
