-- +goose Up
-- Sign-in throttling (issue #5, security checklist S10): one counter per
-- key ("ip:<address>", "user:<username>", "user-ip:<address> <username>").
-- Counters live here rather than in a replica's memory so every replica
-- sees the same count and a restart does not lift a lock (checklist R11).
-- The row is updated under SELECT … FOR UPDATE, so concurrent attempts are
-- counted one by one (CVE-2023-47111). locked_until is NULL when the counter
-- has not been locked in its window.
CREATE TABLE login_throttles (
    key          text        PRIMARY KEY,
    failures     integer     NOT NULL CHECK (failures >= 0),
    window_start timestamptz NOT NULL,
    locked_until timestamptz,
    expires_at   timestamptz NOT NULL
);

-- What the cleanup of stale counters looks for.
CREATE INDEX login_throttles_expires_at_idx ON login_throttles (expires_at);
