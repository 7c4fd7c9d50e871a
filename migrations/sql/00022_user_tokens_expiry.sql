-- +goose Up
-- The janitor deletes expired password-reset and verification tokens in
-- batches (storage.Cleanup.DeleteExpiredGrants); with a million users it
-- must find them without reading the table.
CREATE INDEX user_tokens_expires_at_idx ON user_tokens (expires_at);
