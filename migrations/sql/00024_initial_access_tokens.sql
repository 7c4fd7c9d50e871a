-- +goose Up
-- Initial access tokens for dynamic client registration (RFC 7591 §3;
-- issue 19 item 7): issued by "monban client registration-token", kept
-- only as their SHA-256, usable until they expire or their uses run out.
CREATE TABLE initial_access_tokens (
    id         text        PRIMARY KEY,
    token_hash text        NOT NULL UNIQUE,
    uses_left  integer     NOT NULL CHECK (uses_left >= 0),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX initial_access_tokens_expires_at_idx ON initial_access_tokens (expires_at);
