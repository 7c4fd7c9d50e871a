-- +goose Up
-- The admin console's audit trail (issue 7): one row per change made in
-- /admin, with the administrator, the action, the target and JSON
-- snapshots of the object before and after (secrets and password hashes
-- redacted by the writer). Rows are only ever inserted; they do not
-- reference users or clients, so they outlive what they describe.
CREATE TABLE audit_log (
    id       text        PRIMARY KEY,
    at       timestamptz NOT NULL,
    actor_id text        NOT NULL,
    actor    text        NOT NULL,
    action   text        NOT NULL,
    target   text        NOT NULL,
    before   text        NOT NULL DEFAULT '',
    after    text        NOT NULL DEFAULT ''
);

-- The audit page lists newest first.
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id);

