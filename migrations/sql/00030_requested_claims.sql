-- +goose Up
-- The claims an authorization request asked for one by one with the
-- claims parameter (OIDC Core §5.5, issue 19 item 8), by where they go:
-- the ID token or UserInfo. Kept with the pending request and, for the
-- tokens of every refresh, with each refresh token of the grant. NULL
-- when none were asked for.
ALTER TABLE auth_requests ADD COLUMN id_token_claims text[], ADD COLUMN userinfo_claims text[];
ALTER TABLE refresh_tokens ADD COLUMN id_token_claims text[], ADD COLUMN userinfo_claims text[];
