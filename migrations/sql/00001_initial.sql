-- +goose Up
-- The initial schema: one table per entity of storage/types.go.
--
-- Conventions:
--  * Times are timestamptz. A time.Time that means "not set" when zero
--    (revoked_at, rotated_at, ...) is NULL; every other time is NOT NULL.
--  * Durations are interval (microsecond precision, readable in psql).
--  * Lists are text[]. NULL stands for a nil Go slice and '{}' for an empty
--    one, so values round-trip exactly.
--  * Secrets are only ever stored as hashes (the Go types hold hashes).
--  * Foreign keys follow ownership: rows that belong to a user, a client or a
--    session go away with it (ON DELETE CASCADE). Deleting a client therefore
--    also deletes its pending authorization requests, consents and refresh
--    tokens, so a client re-registered under the same ID inherits nothing.

CREATE TABLE users (
    id             text        PRIMARY KEY,
    username       text        NOT NULL,
    email          text        NOT NULL,
    email_verified boolean     NOT NULL,
    name           text        NOT NULL,
    given_name     text        NOT NULL,
    family_name    text        NOT NULL,
    password_hash  text        NOT NULL,
    disabled       boolean     NOT NULL,
    admin          boolean     NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username)
);

CREATE TABLE clients (
    id                                  text        PRIMARY KEY,
    name                                text        NOT NULL,
    secret_hash                         text        NOT NULL,
    auth_method                         text        NOT NULL,
    application_type                    text        NOT NULL,
    redirect_uris                       text[],
    post_logout_redirect_uris           text[],
    grant_types                         text[],
    scopes                              text[],
    require_consent                     boolean     NOT NULL,
    id_token_signing_alg                text        NOT NULL,
    access_token_ttl                    interval    NOT NULL,
    id_token_ttl                        interval    NOT NULL,
    refresh_token_ttl                   interval    NOT NULL,
    backchannel_logout_uri              text        NOT NULL,
    backchannel_logout_session_required boolean     NOT NULL,
    disabled                            boolean     NOT NULL,
    created_at                          timestamptz NOT NULL,
    updated_at                          timestamptz NOT NULL
);

CREATE TABLE auth_requests (
    id                    text        PRIMARY KEY,
    client_id             text        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    redirect_uri          text        NOT NULL,
    scopes                text[],
    state                 text        NOT NULL,
    nonce                 text        NOT NULL,
    response_mode         text        NOT NULL,
    code_challenge        text        NOT NULL,
    code_challenge_method text        NOT NULL,
    prompt                text[],
    max_age               interval,   -- NULL when max_age was not sent
    login_hint            text        NOT NULL,
    hint_subject          text        NOT NULL,
    created_at            timestamptz NOT NULL,
    expires_at            timestamptz NOT NULL,
    user_id               text        NOT NULL,
    session_id            text        NOT NULL,
    auth_time             timestamptz,
    amr                   text[],
    consent_granted       boolean     NOT NULL,
    denied                boolean     NOT NULL,
    code_hash             text,       -- NULL until a code is issued
    code_expires_at       timestamptz
);

CREATE UNIQUE INDEX auth_requests_code_hash_key ON auth_requests (code_hash) WHERE code_hash IS NOT NULL;
CREATE INDEX auth_requests_expires_at_idx ON auth_requests (expires_at);
CREATE INDEX auth_requests_client_id_idx ON auth_requests (client_id);

CREATE TABLE sessions (
    id           text        PRIMARY KEY,
    token_hash   text        NOT NULL,
    user_id      text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time    timestamptz NOT NULL,
    amr          text[],
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- Which clients a session has signed in to (for logout). No foreign key to
-- clients: logout of a session must still find the IDs it served.
CREATE TABLE session_clients (
    session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    client_id  text NOT NULL,
    PRIMARY KEY (session_id, client_id)
);

CREATE TABLE consents (
    user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  text        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes     text[],
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE INDEX consents_client_id_idx ON consents (client_id);

-- session_id has no foreign key: offline_access tokens outlive the browser
-- session they came from.
CREATE TABLE refresh_tokens (
    id                text        PRIMARY KEY,
    token_hash        text        NOT NULL,
    family_id         text        NOT NULL,
    client_id         text        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id           text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id        text        NOT NULL,
    scopes            text[],
    auth_time         timestamptz NOT NULL,
    amr               text[],
    created_at        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    family_expires_at timestamptz NOT NULL,
    rotated_at        timestamptz,
    revoked_at        timestamptz,
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_client_id_idx ON refresh_tokens (client_id);
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_family_expires_at_idx ON refresh_tokens (family_expires_at);

-- encrypted_key is PKCS#8 DER encrypted by the caller (AES-256-GCM).
CREATE TABLE signing_keys (
    id            text        PRIMARY KEY,
    algorithm     text        NOT NULL,
    state         text        NOT NULL,
    encrypted_key bytea       NOT NULL,
    created_at    timestamptz NOT NULL,
    activated_at  timestamptz,
    retired_at    timestamptz,
    remove_after  timestamptz
);
