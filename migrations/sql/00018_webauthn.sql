-- +goose Up
-- WebAuthn credentials (issue 17): a person's passkeys and security
-- keys, the credential records of W3C WebAuthn Level 3 §4.

CREATE TABLE webauthn_credentials (
    credential_id   bytea       PRIMARY KEY,
    user_id         text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    public_key      bytea       NOT NULL,
    -- the last signature counter seen (WebAuthn §6.1.1); 0: none
    sign_count      bigint      NOT NULL DEFAULT 0,
    backup_eligible boolean     NOT NULL,
    backup_state    boolean     NOT NULL,
    transports      text[]      NOT NULL DEFAULT '{}',
    aaguid          bytea       NOT NULL,
    name            text        NOT NULL,
    created_at      timestamptz NOT NULL,
    last_used_at    timestamptz
);

CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id, created_at);
