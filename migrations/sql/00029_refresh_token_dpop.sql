-- +goose Up
-- DPoP (RFC 9449 §5, issue 19 item 4): the thumbprint of the key a public
-- client's refresh-token family is bound to, '' when unbound. Rotation
-- copies it to the successor.
ALTER TABLE refresh_tokens
    ADD COLUMN dpop_jkt text NOT NULL DEFAULT '';
