-- +goose Up
-- Client settings for issues 19 and 20: DPoP-bound access tokens
-- (RFC 9449 §5.2), the audiences a client may exchange tokens for
-- (RFC 8693), the registration access token of a dynamically registered
-- client (RFC 7592 §3, stored hashed), and the mark of a client that
-- configuration as code (monban apply) owns.
ALTER TABLE clients
    ADD COLUMN dpop_bound_access_tokens boolean NOT NULL DEFAULT false,
    ADD COLUMN token_exchange_audiences text[],
    ADD COLUMN registration_token_hash  text    NOT NULL DEFAULT '',
    ADD COLUMN managed                  boolean NOT NULL DEFAULT false;
