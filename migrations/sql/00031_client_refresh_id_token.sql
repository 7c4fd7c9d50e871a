-- +goose Up
-- Issue 21: a client may do without an ID token on refresh (OpenID
-- Connect Core 1.0 §12.2 makes it optional), saving its signature. The
-- default keeps one on every refresh.
ALTER TABLE clients
    ADD COLUMN omit_refresh_id_token boolean NOT NULL DEFAULT false;
