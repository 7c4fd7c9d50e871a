-- +goose Up
-- Taking access away (issue #3): refresh-token reuse grace, the access-token
-- deny list, and the back-channel logout outbox.

-- A session's end (logout, revocation, idle or absolute expiry) is handled
-- once: ended_at is set in the transaction that enqueues its back-channel
-- logout deliveries. Sessions that ended before this release are marked
-- ended so that no logout token is sent for them now.
ALTER TABLE sessions ADD COLUMN ended_at timestamptz;
UPDATE sessions SET ended_at = COALESCE(revoked_at, expires_at)
WHERE revoked_at IS NOT NULL OR expires_at <= now();
-- What the expiry sweeper looks for among the sessions not yet ended.
CREATE INDEX sessions_unended_revoked_idx ON sessions (created_at) WHERE ended_at IS NULL AND revoked_at IS NOT NULL;
CREATE INDEX sessions_unended_expires_at_idx ON sessions (expires_at) WHERE ended_at IS NULL;
CREATE INDEX sessions_unended_last_seen_at_idx ON sessions (last_seen_at) WHERE ended_at IS NULL;

-- How often a rotated refresh token was accepted again inside the grace
-- window. A family is revoked as soon as one member is: the partial index
-- answers "is this family revoked?" without reading the whole chain.
ALTER TABLE refresh_tokens ADD COLUMN reuses integer NOT NULL DEFAULT 0;
CREATE INDEX refresh_tokens_revoked_family_idx ON refresh_tokens (family_id) WHERE revoked_at IS NOT NULL;

-- Revoked JWT access tokens by jti, kept until the token expires.
CREATE TABLE access_token_revocations (
    jti        text        PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

CREATE INDEX access_token_revocations_expires_at_idx ON access_token_revocations (expires_at);

-- The back-channel logout outbox: one row per logout token to deliver.
-- Delivered rows are deleted; given-up rows keep failed_at and last_error.
CREATE TABLE logout_deliveries (
    id              text        PRIMARY KEY,
    client_id       text        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    subject         text        NOT NULL,
    session_id      text        NOT NULL,
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    attempts        integer     NOT NULL,
    claimed_until   timestamptz,
    last_error      text        NOT NULL,
    failed_at       timestamptz
);

CREATE INDEX logout_deliveries_due_idx ON logout_deliveries (next_attempt_at, id) WHERE failed_at IS NULL;
CREATE INDEX logout_deliveries_failed_idx ON logout_deliveries (failed_at) WHERE failed_at IS NOT NULL;
CREATE INDEX logout_deliveries_client_id_idx ON logout_deliveries (client_id);
