-- Bulk data for the data-size run of compare.sh (BENCH_SEED=U,S,R):
-- :users users, :sessions live sessions (one per user, round robin) and
-- :tokens refresh tokens in families of five, four rotated and the head
-- live, each in one INSERT … SELECT generate_series (no API, no per-row
-- statement). The tokens belong to the first web client the benchmark
-- provisioned. Nothing here is revoked, so no liveness trigger fires.
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';
INSERT INTO users (id, username, email, email_verified, name, given_name, family_name, password_hash,
    disabled, admin, created_at, updated_at)
SELECT 'seed-u' || i, 'seed-user' || lpad(i::text, 8, '0'), 'seed' || i || '@example.com', true, 'Seed User ' || i,
    'Seed', i::text, '', false, false, now(), now()
FROM generate_series(0, :users - 1) AS i;
INSERT INTO sessions (id, token_hash, user_id, auth_time, amr, created_at, last_seen_at, expires_at)
SELECT 'seed-s' || i, 'seed-sh' || i, 'seed-u' || (i % :users), now(), '{pwd}', now() - i * interval '1 millisecond',
    now(), now() + interval '12 hours'
FROM generate_series(0, :sessions - 1) AS i;
INSERT INTO refresh_tokens (id, token_hash, family_id, client_id, user_id, session_id, scopes, auth_time, amr,
    created_at, expires_at, family_expires_at, rotated_at)
SELECT 'seed-r' || i, 'seed-rh' || i, 'seed-f' || (i / 5),
    (SELECT id FROM clients WHERE id LIKE 'bench-web-%' ORDER BY created_at LIMIT 1),
    'seed-u' || ((i / 5) % :users), 'seed-s' || ((i / 5) % :sessions), '{openid,profile}', now(), '{pwd}',
    now(), now() + interval '1 day', now() + interval '30 days',
    CASE WHEN i % 5 <> 4 THEN now() END
FROM generate_series(0, :tokens - 1) AS i;
-- VACUUM, not only ANALYZE: 5M fresh rows pass autovacuum's insert
-- threshold, and its worker (a child of the postmaster, so counted in
-- PostgreSQL's CPU per iteration) would otherwise run during the
-- measured flows, on the same two cores.
VACUUM (ANALYZE) users;
VACUUM (ANALYZE) sessions;
VACUUM (ANALYZE) refresh_tokens;
CHECKPOINT;
