package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
)

// Device flow, client assertions and pushed authorization requests
// (issue 19; migrations 00019 and 00020).

const deviceColumns = `id, device_code_hash, user_code, client_id, scopes, created_at, expires_at,
	interval_seconds, last_polled_at, status, user_id, session_id, auth_time, amr`

func scanDevice(row pgx.Row) (*storage.DeviceAuthorization, error) {
	var d storage.DeviceAuthorization
	var interval int64
	err := row.Scan(&d.ID, &d.DeviceCodeHash, &d.UserCode, &d.ClientID, &d.Scopes, &d.CreatedAt, &d.ExpiresAt,
		&interval, scanOptTime{&d.LastPolledAt}, &d.Status, &d.UserID, &d.SessionID, scanOptTime{&d.AuthTime}, &d.AMR)
	if err != nil {
		return nil, err
	}
	d.Interval = time.Duration(interval) * time.Second
	d.CreatedAt, d.ExpiresAt = d.CreatedAt.UTC(), d.ExpiresAt.UTC()
	return &d, nil
}

// CreateDeviceAuthorization implements storage.DeviceAuthorizations.
func (s *Store) CreateDeviceAuthorization(ctx context.Context, d *storage.DeviceAuthorization, now time.Time) error {
	batch := &pgx.Batch{}
	// An expired authorization's user code may be handed out again; the
	// janitor removes the other expired rows (DeleteExpiredGrants).
	batch.Queue(`DELETE FROM device_authorizations WHERE user_code = $1 AND expires_at < $2`, d.UserCode, now)
	batch.Queue(`INSERT INTO device_authorizations (`+deviceColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		d.ID, d.DeviceCodeHash, d.UserCode, d.ClientID, nonNil(d.Scopes), d.CreatedAt, d.ExpiresAt,
		int64(d.Interval/time.Second), optTime(d.LastPolledAt), d.Status, d.UserID, d.SessionID, optTime(d.AuthTime), d.AMR)
	err := s.locked(ctx, func(tx pgx.Tx) error { return tx.SendBatch(ctx, batch).Close() }, "create device authorization")
	if err != nil {
		return wrapErr(err, "create device authorization %q", d.ID)
	}
	return nil
}

// nonNil returns an empty slice for nil (a NOT NULL array column).
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// GetDeviceAuthorizationByUserCode implements storage.DeviceAuthorizations.
func (s *Store) GetDeviceAuthorizationByUserCode(ctx context.Context, userCode string, now time.Time) (*storage.DeviceAuthorization, error) {
	d, err := scanDevice(s.db.QueryRow(ctx, `SELECT `+deviceColumns+` FROM device_authorizations
		WHERE user_code = $1 AND status = 'pending' AND expires_at > $2`, userCode, now))
	if err != nil {
		return nil, wrapErr(err, "get device authorization by user code")
	}
	return d, nil
}

// DecideDeviceAuthorization implements storage.DeviceAuthorizations.
func (s *Store) DecideDeviceAuthorization(ctx context.Context, id string, dec storage.DeviceDecision, now time.Time) error {
	return s.locked(ctx, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM device_authorizations WHERE id = $1 AND expires_at > $2 FOR UPDATE`,
			id, now).Scan(&status)
		if err != nil {
			return wrapErr(err, "decide device authorization %q", id)
		}
		if status != storage.DevicePending {
			return fmt.Errorf("postgres: device authorization %q is %s: %w", id, status, storage.ErrConflict)
		}
		if !dec.Approved {
			_, err = tx.Exec(ctx, `UPDATE device_authorizations SET status = 'denied' WHERE id = $1`, id)
		} else {
			_, err = tx.Exec(ctx, `UPDATE device_authorizations SET status = 'approved', user_id = $2, session_id = $3,
				auth_time = $4, amr = $5 WHERE id = $1`, id, dec.UserID, dec.SessionID, dec.AuthTime, dec.AMR)
		}
		return wrapErr2(err, "decide device authorization %q", id)
	}, "decide device authorization %q", id)
}

// wrapErr2 is wrapErr that keeps nil nil.
func wrapErr2(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return wrapErr(err, format, args...)
}

// PollDeviceAuthorization implements storage.DeviceAuthorizations: the row
// is locked, storage.DeviceAuthorization.Poll applied and written back in
// one transaction, so concurrent polls run one after the other.
func (s *Store) PollDeviceAuthorization(ctx context.Context, clientID, deviceCodeHash string, now time.Time) (*storage.DeviceAuthorization, storage.DevicePoll, error) {
	var d *storage.DeviceAuthorization
	var res storage.DevicePoll
	err := s.locked(ctx, func(tx pgx.Tx) error {
		var err error
		d, err = scanDevice(tx.QueryRow(ctx, `SELECT `+deviceColumns+` FROM device_authorizations
			WHERE device_code_hash = $1 AND client_id = $2 FOR UPDATE`, deviceCodeHash, clientID))
		if err != nil {
			return wrapErr(err, "poll device authorization")
		}
		res = d.Poll(now.UTC().Truncate(time.Microsecond))
		_, err = tx.Exec(ctx, `UPDATE device_authorizations SET status = $2, interval_seconds = $3, last_polled_at = $4
			WHERE id = $1`, d.ID, d.Status, int64(d.Interval/time.Second), optTime(d.LastPolledAt))
		return wrapErr2(err, "poll device authorization")
	}, "poll device authorization")
	if err != nil {
		return nil, 0, err
	}
	return d, res, nil
}

// UseClientAssertion implements storage.ClientAssertions: an expired entry
// of the same jti is replaced, a live one is a replay.
func (s *Store) UseClientAssertion(ctx context.Context, clientID, jti string, expiresAt, now time.Time) error {
	return s.locked(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
			WHERE client_assertions.expires_at <= $4`, clientID, jti, expiresAt, now)
		if err != nil {
			return wrapErr(err, "use client assertion")
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("postgres: client assertion of %q replayed: %w", clientID, storage.ErrAlreadyExists)
		}
		return nil
	}, "use client assertion")
}

// CreatePushedRequest implements storage.PushedRequests.
func (s *Store) CreatePushedRequest(ctx context.Context, r *storage.PushedRequest, now time.Time) error {
	params, err := json.Marshal(r.Params)
	if err != nil {
		return fmt.Errorf("postgres: encode pushed request: %w", err)
	}
	return s.locked(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO pushed_requests (id, client_id, params, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, r.ID, r.ClientID, string(params), r.CreatedAt, r.ExpiresAt)
		return wrapErr2(err, "create pushed request")
	}, "create pushed request")
}

// ConsumePushedRequest implements storage.PushedRequests: one DELETE …
// RETURNING, so of concurrent uses exactly one gets the request.
func (s *Store) ConsumePushedRequest(ctx context.Context, id, clientID string, now time.Time) (*storage.PushedRequest, error) {
	var r storage.PushedRequest
	var params []byte
	err := s.db.QueryRow(ctx, `DELETE FROM pushed_requests WHERE id = $1 AND client_id = $2
		RETURNING id, client_id, params, created_at, expires_at`, id, clientID).
		Scan(&r.ID, &r.ClientID, &params, &r.CreatedAt, &r.ExpiresAt)
	if err != nil {
		return nil, wrapErr(err, "consume pushed request")
	}
	if !now.Before(r.ExpiresAt) {
		return nil, fmt.Errorf("postgres: pushed request expired: %w", storage.ErrNotFound)
	}
	if err := json.Unmarshal(params, &r.Params); err != nil {
		return nil, fmt.Errorf("postgres: decode pushed request: %w", err)
	}
	if r.Params == nil {
		r.Params = url.Values{}
	}
	r.CreatedAt, r.ExpiresAt = r.CreatedAt.UTC(), r.ExpiresAt.UTC()
	return &r, nil
}
