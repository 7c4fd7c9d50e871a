-- +goose Up
-- The dpop_jkt authorization request parameter (RFC 9449 §10): the JWK
-- thumbprint (SHA-256, RFC 7638) of the key the client will prove
-- possession of at the token endpoint; the code is redeemed only with a
-- DPoP proof by that key. '' when the request had none.
-- A constant default makes this a catalog-only change in PostgreSQL 11 and
-- later (no table rewrite, no scan): the ACCESS EXCLUSIVE lock is held
-- for an instant, so it is safe inside goose's transaction on a big, live
-- table.
ALTER TABLE auth_requests ADD COLUMN dpop_jkt text NOT NULL DEFAULT '';
