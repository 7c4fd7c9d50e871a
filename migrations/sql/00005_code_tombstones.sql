-- +goose Up
-- Authorization code replay (security checklist T1, RFC 6749 §4.1.2: the
-- server MUST deny a second use of a code and SHOULD revoke the tokens
-- issued based on it). Consuming a code deletes its auth_requests row and,
-- in the same statement, leaves this tombstone: a replay finds it and
-- learns the family (`fid`, and the jti of the first access token) that
-- the first, successful exchange started, so the token endpoint can revoke
-- it. expires_at is the code's expiry; the auth-request cleanup deletes the
-- tombstone after it. Deleting the client deletes its tombstones.
CREATE TABLE auth_code_tombstones (
    code_hash   text        PRIMARY KEY,
    request_id  text        NOT NULL,
    client_id   text        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    family_id   text        NOT NULL,
    consumed_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);

-- What the cleanup looks for, and what the client cascade deletes by.
CREATE INDEX auth_code_tombstones_expires_at_idx ON auth_code_tombstones (expires_at);
CREATE INDEX auth_code_tombstones_client_id_idx ON auth_code_tombstones (client_id);
