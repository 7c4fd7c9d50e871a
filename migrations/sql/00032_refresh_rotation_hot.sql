-- +goose NO TRANSACTION
-- +goose Up
-- Refresh-token rotation (issue 21) marks the presented token rotated
-- (rotated_at, reuses) and inserts its successor. Before this file the
-- mark was never a HOT update: rotated_at is in the predicate of
-- refresh_tokens_head_expires_at_idx, so every rotation wrote a new entry
-- for the old row into each of the seven non-partial indexes, besides the
-- successor's eight: 15 index insertions per refresh. After it no index
-- reads rotated_at or reuses, and pages keep room for the new row
-- version, so the mark is a heap-only tuple on the same page and touches
-- no index: 6 insertions per refresh (the successor's), 6 instead of 8
-- for the first token of a sign-in.
--
-- Indexes, and what uses them afterwards:
--   pkey (id)                      revocations lock rows by id (ORDER BY id)
--   token_hash (unique)            every lookup and rotation of a token
--   family_id                      family revocation, reuse check, access
--                                  token status, the janitor's family delete
--   session_id                     logout (RevokeSessionRefreshTokens)
--   user_id                        user revocation, consent revocation, the
--                                  account page, ON DELETE CASCADE of users
--   revoked_family (partial)       "family has a revoked member" (rotation,
--                                  access token status); only revoked rows
--   revoked_at (partial)           janitor: revoked families; only revoked rows
--   end_at (new, expression)       janitor: families whose every member is
--                                  past min(expires_at, family_expires_at),
--                                  and expired rotated members
-- Dropped: family_expires_at and head_expires_at (both served by end_at;
-- head_expires_at blocked HOT) and client_id, whose only user was the
-- ON DELETE CASCADE of a client: deleting a client, a rare administrator
-- action, now scans refresh_tokens once instead of every INSERT
-- maintaining an index for it.
--
-- Live-table safety (5M rows): nothing here rewrites the table or blocks
-- refreshes for longer than a catalog update. Hence NO TRANSACTION: CREATE
-- and DROP INDEX CONCURRENTLY cannot run in a transaction block.
--   * SET (fillfactor): SHARE UPDATE EXCLUSIVE for a catalog update
--     (conflicts with no DML); it applies to pages filled from now on.
--   * CREATE INDEX CONCURRENTLY: SHARE UPDATE EXCLUSIVE for two table
--     scans (seconds at 5M rows); reads and writes go on. If it fails it
--     leaves an INVALID index, which the DROP before it removes on the
--     next attempt (goose records the version only after the last
--     statement).
--   * DROP INDEX CONCURRENTLY: waits for transactions using the index,
--     then a catalog update; reads and writes go on.
--   * The liveness trigger is replaced by creating the new one before
--     dropping the old: both bump once per transaction (bump_user_liveness
--     is idempotent within a transaction), so no moment is uncovered.
--     CREATE TRIGGER takes SHARE ROW EXCLUSIVE and DROP TRIGGER ACCESS
--     EXCLUSIVE, each only for the catalog change (milliseconds, but each
--     waits for the transactions in flight on the table).
ALTER TABLE refresh_tokens SET (fillfactor = 80);

DROP INDEX CONCURRENTLY IF EXISTS refresh_tokens_end_at_idx;
CREATE INDEX CONCURRENTLY refresh_tokens_end_at_idx
    ON refresh_tokens ((LEAST(expires_at, family_expires_at)));

DROP INDEX CONCURRENTLY IF EXISTS refresh_tokens_head_expires_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS refresh_tokens_family_expires_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS refresh_tokens_client_id_idx;

-- The janitor now deletes expired rotated members of live families one by
-- one (a replay of an expired token is refused as unknown; it was never
-- reuse). Deleting a rotated member changes nothing an access token is
-- checked against while its family keeps its head, so only a live head's
-- deletion counts (it can leave the family empty, so revoked).
DROP TRIGGER IF EXISTS refresh_tokens_liveness_delete_head ON refresh_tokens;
CREATE CONSTRAINT TRIGGER refresh_tokens_liveness_delete_head
    AFTER DELETE ON refresh_tokens DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND OLD.rotated_at IS NULL)
    EXECUTE FUNCTION liveness_of_user_column();
DROP TRIGGER IF EXISTS refresh_tokens_liveness_delete ON refresh_tokens;
