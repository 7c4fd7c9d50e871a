-- +goose Up
-- Per-user liveness versions (issue 21) replace the one liveness epoch of
-- 00009. Every committed change that can make a live access token of a
-- user inactive, or change what is read with it (a session revoked,
-- deleted, its expiry or user changed; a refresh token revoked or a live
-- one deleted; the user changed or deleted; a membership or a group's
-- name changed), increments that user's row in the same transaction. A
-- replica that read a token's status at version V answers from memory
-- while the user's version is still V and the jti is not on the deny
-- list: two primary-key reads in one statement, whatever other people
-- do. A revocation is visible to every replica as soon as it commits.
-- Deny-list entries bump nothing: the deny list is read on every request.
DROP TRIGGER access_token_revocations_liveness ON access_token_revocations;
DROP TRIGGER sessions_liveness ON sessions;
DROP TRIGGER sessions_liveness_delete ON sessions;
DROP TRIGGER refresh_tokens_liveness ON refresh_tokens;
DROP TRIGGER refresh_tokens_liveness_delete ON refresh_tokens;
DROP TRIGGER users_liveness ON users;
DROP TRIGGER group_members_liveness ON group_members;
DROP TRIGGER groups_liveness ON groups;
DROP FUNCTION bump_liveness_epoch();
-- A replica of the previous release reads the dropped table and fails
-- closed (503), never answering from a status nothing invalidates.
DROP TABLE liveness_epoch;

-- No foreign key: the row must outlive its user, whose deletion is the
-- last change it counts.
CREATE TABLE liveness_versions (
    user_id text   PRIMARY KEY,
    version bigint NOT NULL
);

-- bump_user_liveness increments the user's version once per transaction:
-- a transaction-local setting remembers the last user it counted, so
-- revoking many tokens of one user updates the row once.
-- +goose StatementBegin
CREATE FUNCTION bump_user_liveness(uid text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF uid IS NULL OR current_setting('monban.liveness_user', true) IS NOT DISTINCT FROM uid THEN
        RETURN;
    END IF;
    PERFORM set_config('monban.liveness_user', uid, true);
    INSERT INTO liveness_versions (user_id, version) VALUES (uid, 1)
        ON CONFLICT (user_id) DO UPDATE SET version = liveness_versions.version + 1;
END
$$;

CREATE FUNCTION liveness_of_user_column() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM bump_user_liveness(OLD.user_id);
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.user_id IS DISTINCT FROM OLD.user_id) THEN
        PERFORM bump_user_liveness(NEW.user_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION liveness_of_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bump_user_liveness(OLD.id);
    RETURN NULL;
END
$$;

-- A renamed group changes the groups read with each member's tokens. A
-- deleted group's memberships go by ON DELETE CASCADE, whose deletes
-- count through group_members.
CREATE FUNCTION liveness_of_group_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bump_user_liveness(m.user_id) FROM group_members m WHERE m.group_id = OLD.id ORDER BY m.user_id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Deferred to commit, as in 00009: the version rows are the last locks a
-- transaction takes, held only through its commit.
CREATE CONSTRAINT TRIGGER sessions_liveness
    AFTER UPDATE ON sessions DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
        OR OLD.expires_at IS DISTINCT FROM NEW.expires_at OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION liveness_of_user_column();

-- A revoked session's tokens were already dead (its revocation counted).
CREATE CONSTRAINT TRIGGER sessions_liveness_delete
    AFTER DELETE ON sessions DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL)
    EXECUTE FUNCTION liveness_of_user_column();

CREATE CONSTRAINT TRIGGER refresh_tokens_liveness
    AFTER UPDATE ON refresh_tokens DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION liveness_of_user_column();

-- Deleting a revoked token leaves its family revoked (the revocation
-- counted); deleting a live one can leave the family empty, so revoked.
CREATE CONSTRAINT TRIGGER refresh_tokens_liveness_delete
    AFTER DELETE ON refresh_tokens DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL)
    EXECUTE FUNCTION liveness_of_user_column();

CREATE CONSTRAINT TRIGGER users_liveness
    AFTER UPDATE OR DELETE ON users DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION liveness_of_user();

CREATE CONSTRAINT TRIGGER group_members_liveness
    AFTER INSERT OR DELETE ON group_members DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION liveness_of_user_column();

CREATE CONSTRAINT TRIGGER groups_liveness
    AFTER UPDATE ON groups DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION liveness_of_group_members();
