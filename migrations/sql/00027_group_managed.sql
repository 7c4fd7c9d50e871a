-- +goose Up
-- Groups for configuration as code (issue 20): a description, and the
-- mark of a group that monban apply owns (only such groups are deleted
-- by apply --prune), as clients.managed is for clients (00023).
ALTER TABLE groups
    ADD COLUMN description text    NOT NULL DEFAULT '',
    ADD COLUMN managed     boolean NOT NULL DEFAULT false;
