-- Bulk data for the data-size run of compare.sh (BENCH_SEED=U,S,R):
-- :users users, :sessions live sessions (one per user, round robin) and
-- :tokens refresh tokens in families of five, four rotated and the head
-- live, each in one INSERT … SELECT generate_series (no API, no per-row
-- statement). The tokens belong to the first web client the benchmark
-- provisioned. Nothing here is revoked, so no liveness trigger fires.
-- Keys look like those monban wrote before ordered IDs: 32 random hex
-- characters for IDs (md5 of a counter), 64 for token hashes (SHA-256),
-- spread over the whole key space as real ones are. (Keys sharing a
-- prefix, as 'seed-r' || i once did, sort apart from every key the
-- benchmark writes, so its insertions never met the loaded pages and the
-- run hid what random keys cost at this size.)
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';
INSERT INTO users (id, username, email, email_verified, name, given_name, family_name, password_hash,
    disabled, admin, created_at, updated_at)
SELECT md5('u' || i), 'seed-user' || lpad(i::text, 8, '0'), 'seed' || i || '@example.com', true, 'Seed User ' || i,
    'Seed', i::text, '', false, false, now(), now()
FROM generate_series(0, :users - 1) AS i;
INSERT INTO sessions (id, token_hash, user_id, auth_time, amr, created_at, last_seen_at, expires_at)
SELECT md5('s' || i), encode(sha256(('sh' || i)::bytea), 'hex'), md5('u' || (i % :users)), now(), '{pwd}', now() - i * interval '1 millisecond',
    now(), now() + interval '12 hours'
FROM generate_series(0, :sessions - 1) AS i;
INSERT INTO refresh_tokens (id, token_hash, family_id, client_id, user_id, session_id, scopes, auth_time, amr,
    created_at, expires_at, family_expires_at, rotated_at)
SELECT md5('r' || i), encode(sha256(('rh' || i)::bytea), 'hex'), md5('f' || (i / 5)),
    (SELECT id FROM clients WHERE id LIKE 'bench-web-%' ORDER BY created_at LIMIT 1),
    md5('u' || ((i / 5) % :users)), md5('s' || ((i / 5) % :sessions)), '{openid,profile}', now(), '{pwd}',
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
