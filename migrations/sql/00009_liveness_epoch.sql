-- +goose Up
-- The liveness epoch (issue 8): one counter that every committed change
-- able to make a live access token inactive, or to change what is read
-- with it, increments in the same transaction: a deny-list entry, a
-- session revoked, its expiry changed or the session deleted, a refresh
-- token revoked or deleted, a user changed or deleted. A replica that
-- read a token's status at epoch E may answer from memory while the
-- epoch is still E: reading the counter is one trivial statement, and a
-- revocation is visible to every replica as soon as it commits.
CREATE TABLE liveness_epoch (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    epoch    bigint  NOT NULL
);

INSERT INTO liveness_epoch (epoch) VALUES (0);

-- One increment per transaction, however many rows it changed: the
-- transaction-local setting remembers that it already counted.
-- +goose StatementBegin
CREATE FUNCTION bump_liveness_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('monban.liveness_bumped', true) IS DISTINCT FROM 'yes' THEN
        PERFORM set_config('monban.liveness_bumped', 'yes', true);
        UPDATE liveness_epoch SET epoch = epoch + 1;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- The triggers are deferred to commit, so the epoch row is the last lock
-- a transaction takes: it never waits for anything while holding it (no
-- deadlock), and holds it only through its commit.
CREATE CONSTRAINT TRIGGER access_token_revocations_liveness
    AFTER INSERT OR UPDATE ON access_token_revocations DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION bump_liveness_epoch();

CREATE CONSTRAINT TRIGGER sessions_liveness
    AFTER UPDATE ON sessions DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
        OR OLD.expires_at IS DISTINCT FROM NEW.expires_at OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION bump_liveness_epoch();

CREATE CONSTRAINT TRIGGER sessions_liveness_delete
    AFTER DELETE ON sessions DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION bump_liveness_epoch();

CREATE CONSTRAINT TRIGGER refresh_tokens_liveness
    AFTER UPDATE ON refresh_tokens DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
    EXECUTE FUNCTION bump_liveness_epoch();

CREATE CONSTRAINT TRIGGER refresh_tokens_liveness_delete
    AFTER DELETE ON refresh_tokens DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION bump_liveness_epoch();

CREATE CONSTRAINT TRIGGER users_liveness
    AFTER UPDATE OR DELETE ON users DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION bump_liveness_epoch();
