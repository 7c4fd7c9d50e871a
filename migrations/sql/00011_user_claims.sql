-- +goose Up
-- People and groups (issue 15): the other standard claims of OIDC Core
-- §5.1 on the user, custom attributes, groups with their members, and
-- the per-client group rule and claim mapping. Existing rows get empty
-- values, which mean "not set".

ALTER TABLE users
    ADD COLUMN middle_name           text    NOT NULL DEFAULT '',
    ADD COLUMN nickname              text    NOT NULL DEFAULT '',
    ADD COLUMN preferred_username    text    NOT NULL DEFAULT '',
    ADD COLUMN profile               text    NOT NULL DEFAULT '',
    ADD COLUMN picture               text    NOT NULL DEFAULT '',
    ADD COLUMN website               text    NOT NULL DEFAULT '',
    ADD COLUMN gender                text    NOT NULL DEFAULT '',
    ADD COLUMN birthdate             text    NOT NULL DEFAULT '',
    ADD COLUMN zoneinfo              text    NOT NULL DEFAULT '',
    ADD COLUMN locale                text    NOT NULL DEFAULT '',
    ADD COLUMN phone_number          text    NOT NULL DEFAULT '',
    ADD COLUMN phone_number_verified boolean NOT NULL DEFAULT false,
    -- OIDC Core §5.1.1 as a JSON object; custom attributes as an object
    -- of strings and arrays of strings.
    ADD COLUMN address               jsonb   NOT NULL DEFAULT '{}',
    ADD COLUMN attributes            jsonb   NOT NULL DEFAULT '{}';

-- Case-insensitive prefix search of the admin lists (users by username,
-- e-mail or name) and keyset pagination by username in byte order.
CREATE INDEX users_username_c_idx ON users (username COLLATE "C");
-- A prefix search is a range on these (>= prefix, < prefix || U+10FFFF),
-- which a generic plan of a prepared statement can use, unlike LIKE.
CREATE INDEX users_username_lower_idx ON users ((lower(username) COLLATE "C"));
CREATE INDEX users_email_lower_idx ON users ((lower(email) COLLATE "C"));
CREATE INDEX users_name_lower_idx ON users ((lower(name) COLLATE "C"));

-- The last-administrator guard counts these.
CREATE INDEX users_enabled_admins_idx ON users (id) WHERE admin AND NOT disabled;

CREATE TABLE groups (
    id         text        PRIMARY KEY,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT groups_name_key UNIQUE (name)
);

CREATE INDEX groups_name_c_idx ON groups (name COLLATE "C");

CREATE TABLE group_members (
    group_id text NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

CREATE INDEX group_members_user_id_idx ON group_members (user_id);

ALTER TABLE clients
    ADD COLUMN allowed_groups text[],
    ADD COLUMN claim_mappings jsonb NOT NULL DEFAULT '[]';

-- The groups read with a token's user change with memberships, and with
-- a group's name (00009: the liveness epoch).
CREATE CONSTRAINT TRIGGER group_members_liveness
    AFTER INSERT OR DELETE ON group_members DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION bump_liveness_epoch();

CREATE CONSTRAINT TRIGGER groups_liveness
    AFTER UPDATE OR DELETE ON groups DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION bump_liveness_epoch();

-- Live sessions newest first, the admin list's order (also per user).
CREATE INDEX sessions_live_created_idx ON sessions (created_at DESC, id COLLATE "C" DESC) WHERE revoked_at IS NULL;
CREATE INDEX sessions_live_user_created_idx ON sessions (user_id, created_at DESC, id COLLATE "C" DESC) WHERE revoked_at IS NULL;
CREATE INDEX clients_id_c_idx ON clients (id COLLATE "C");
