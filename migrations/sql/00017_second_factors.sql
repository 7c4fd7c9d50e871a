-- +goose Up
-- Second factors and step-up (issue 17): a TOTP secret per person
-- (sealed with the key-encryption keys, RFC 6238), single-use recovery
-- codes (hashed), the client setting "require a second factor" and the
-- authentication context class an authorization request needs.

CREATE TABLE totp_factors (
    user_id      text        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       bytea       NOT NULL,
    confirmed_at timestamptz,
    -- the RFC 6238 time step of the last accepted code (replay refusal)
    last_step    bigint      NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL
);

CREATE TABLE recovery_codes (
    user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  text        NOT NULL,
    created_at timestamptz NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE clients ADD COLUMN require_mfa boolean NOT NULL DEFAULT false;
ALTER TABLE auth_requests ADD COLUMN acr text NOT NULL DEFAULT '';
