-- +goose Up
-- The person's preferred page languages from the authorization request's
-- ui_locales parameter (OIDC Core §3.1.2.1, issue 14), kept so that the
-- sign-in and consent pages of the request speak the same language.
-- NULL when the request had none.
ALTER TABLE auth_requests ADD COLUMN ui_locales text[];
