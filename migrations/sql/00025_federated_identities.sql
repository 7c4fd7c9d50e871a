-- +goose Up
-- Links between people's identities at upstream connectors (issue 18:
-- an OpenID provider, GitHub, LDAP) and local users. (connector_id,
-- subject) is the upstream's stable name for the person; a user may have
-- several links. groups are the memberships the link added during group
-- synchronisation: only those are removed when the upstream stops naming
-- them, so memberships granted by an administrator stay.
CREATE TABLE federated_identities (
    connector_id text        NOT NULL,
    subject      text        NOT NULL,
    user_id      text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email        text        NOT NULL DEFAULT '',
    groups       text[]      NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    PRIMARY KEY (connector_id, subject)
);

CREATE INDEX federated_identities_user ON federated_identities (user_id);

-- A first upstream sign-in looks for a local account with the same
-- address (never to link it silently: to ask for its password).
CREATE INDEX users_email_lower ON users (lower(email)) WHERE email <> '';
