-- +goose Up
-- The device authorization grant (RFC 8628, issue 19 item 1). The device
-- polls with its device code, kept only as a hash; the person types the
-- user code (normalised: upper-case letters without separator) at the
-- user-code page. Rows that expired are deleted when a new one is
-- created. Deleting the client deletes its rows.
CREATE TABLE device_authorizations (
    id               text        PRIMARY KEY,
    device_code_hash text        NOT NULL,
    user_code        text        NOT NULL,
    client_id        text        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes           text[]      NOT NULL,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    interval_seconds bigint      NOT NULL,
    last_polled_at   timestamptz,
    status           text        NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'issued')),
    user_id          text        NOT NULL DEFAULT '',
    session_id       text        NOT NULL DEFAULT '',
    auth_time        timestamptz,
    amr              text[],
    CONSTRAINT device_authorizations_device_code_key UNIQUE (device_code_hash),
    CONSTRAINT device_authorizations_user_code_key UNIQUE (user_code)
);

CREATE INDEX device_authorizations_expires_at_idx ON device_authorizations (expires_at);
CREATE INDEX device_authorizations_client_id_idx ON device_authorizations (client_id);
