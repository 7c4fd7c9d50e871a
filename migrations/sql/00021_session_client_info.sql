-- +goose Up
-- The address a session was signed in from and the browser's User-Agent,
-- shown on the console's sessions page and the person's account page so
-- that people can recognise their sessions (issues 15 and 16, item 5).
-- Informational only: no security decision reads them.
ALTER TABLE sessions
    ADD COLUMN address    text NOT NULL DEFAULT '',
    ADD COLUMN user_agent text NOT NULL DEFAULT '';
