-- +goose Up
-- private_key_jwt client authentication and pushed authorization requests
-- (issue 19 items 2 and 3).

-- A client's public keys, inline (jwks, RFC 7517 JSON) or by URL
-- (jwks_uri), and whether its authorization requests must be pushed
-- (RFC 9126 §6).
ALTER TABLE clients
    ADD COLUMN jwks        text    NOT NULL DEFAULT '',
    ADD COLUMN jwks_uri    text    NOT NULL DEFAULT '',
    ADD COLUMN require_par boolean NOT NULL DEFAULT false;

-- Accepted client assertions, kept until they expire so that none is
-- accepted twice (RFC 7523 §3 item 7). Expired rows are deleted when a
-- new one is recorded.
CREATE TABLE client_assertions (
    client_id  text        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    jti        text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);

CREATE INDEX client_assertions_expires_at_idx ON client_assertions (expires_at);

-- Pushed authorization requests (RFC 9126): the parameters as a JSON
-- object of string arrays, under the hash of the request_uri's random
-- part; consumed (deleted) by the authorization endpoint.
CREATE TABLE pushed_requests (
    id         text        PRIMARY KEY,
    client_id  text        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    params     jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX pushed_requests_expires_at_idx ON pushed_requests (expires_at);
CREATE INDEX pushed_requests_client_id_idx ON pushed_requests (client_id);
