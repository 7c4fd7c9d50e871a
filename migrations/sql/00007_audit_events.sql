-- +goose Up
-- Security events join the audit trail (issue 7): sign-ins and their
-- failures, lockouts, consent answers, refresh-token and code reuse,
-- logouts (storage.Action*), next to the admin changes of 00006. Such an
-- event records the client address of the request that caused it and a
-- short detail (a reason, the scopes, …); admin changes leave both empty.
-- Secrets are never written here.
ALTER TABLE audit_log
    ADD COLUMN address text NOT NULL DEFAULT '',
    ADD COLUMN detail  text NOT NULL DEFAULT '';

-- The audit page filters by action (exact, or its category: the part
-- before the first dot, e.g. "signin"), by actor (username or user ID)
-- and by target, always newest first.
CREATE INDEX audit_log_action_idx ON audit_log (action, at DESC);
CREATE INDEX audit_log_category_idx ON audit_log (split_part(action, '.', 1), at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at DESC);
CREATE INDEX audit_log_actor_id_idx ON audit_log (actor_id, at DESC);
CREATE INDEX audit_log_target_idx ON audit_log (target COLLATE "C", at DESC);
