-- +goose Up
-- Indexes for the janitor's batched deletes (storage.Cleanup), so each
-- batch finds its rows without scanning the table.

-- Sessions whose end was handled, oldest first.
CREATE INDEX sessions_ended_at_idx ON sessions (ended_at) WHERE ended_at IS NOT NULL;
-- The head of every refresh-token family (the token not yet rotated), by
-- expiry: an idle family is one whose heads have all expired.
CREATE INDEX refresh_tokens_head_expires_at_idx ON refresh_tokens (expires_at) WHERE rotated_at IS NULL;
-- Revoked tokens by revocation time.
CREATE INDEX refresh_tokens_revoked_at_idx ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;

