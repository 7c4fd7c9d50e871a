-- +goose Up
-- Self-service (issue 16): the durable mail outbox and the single-use
-- tokens sent by mail.

-- The mail outbox: one row per message, written in the transaction of
-- what caused it. Delivered rows are deleted; given-up rows keep
-- failed_at and last_error, and lose their bodies (they may hold a link).
CREATE TABLE mail_outbox (
    id              text        PRIMARY KEY,
    kind            text        NOT NULL,
    recipient       text        NOT NULL,
    recipient_name  text        NOT NULL,
    subject         text        NOT NULL,
    body_text       text        NOT NULL,
    body_html       text        NOT NULL,
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    attempts        integer     NOT NULL,
    claimed_until   timestamptz,
    last_error      text        NOT NULL,
    failed_at       timestamptz
);

CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at, id) WHERE failed_at IS NULL;
CREATE INDEX mail_outbox_failed_idx ON mail_outbox (failed_at) WHERE failed_at IS NOT NULL;

-- Password-reset and e-mail verification tokens, by the SHA-256 of the
-- 256-bit value in the link; a user has at most one of each purpose.
CREATE TABLE user_tokens (
    token_hash text        PRIMARY KEY,
    user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL,
    email      text        NOT NULL,
    stamp      text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX user_tokens_user_purpose_idx ON user_tokens (user_id, purpose);
