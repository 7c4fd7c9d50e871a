#!/usr/bin/env bash
# A bounded load run of monban-bench against `monban serve` on PostgreSQL
# (used by `make bench`). It starts a throwaway PostgreSQL cluster on disk
# (default settings, fsync on: a memory file system would flatter the
# numbers) on a Unix socket, migrates it, starts monban on loopback and
# lets monban-bench provision its own clients and user. Two passes: the
# web client's ID tokens signed RS256, then ES256 (access tokens are ES256
# in both). Everything is removed on exit.
set -euo pipefail
GO=${GO:-go}
DURATION=${BENCH_DURATION:-2s}
CONCURRENCY=${BENCH_CONCURRENCY:-8}
mkdir -p bin
$GO build -o bin/monban ./cmd/monban
$GO build -o bin/monban-bench ./cmd/monban-bench

pgbin=$(dirname "$(command -v initdb 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
dir=$(mktemp -d /var/tmp/monban-bench-pg.XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	as_pg "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
as_pg "$pgbin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
	-o "-k $dir -c listen_addresses='' -c max_connections=50" start >/dev/null

export MONBAN_DATABASE_URL="host=$dir user=postgres dbname=postgres sslmode=disable"
export MONBAN_SECRETS
MONBAN_SECRETS=$(head -c 32 /dev/urandom | base64)
bin/monban migrate up >/dev/null
port=18080
# The load tool sends each simulated browser's sign-in from its own
# address in X-Forwarded-For (--forwarded-for), as a load balancer would:
# this machine is the trusted proxy.
MONBAN_ISSUER=http://127.0.0.1:$port MONBAN_LISTEN=127.0.0.1:$port MONBAN_MANAGEMENT_LISTEN=off \
	MONBAN_TRUSTED_PROXIES=127.0.0.1 MONBAN_LOG_LEVEL=warn bin/monban serve &
pid=$!
for _ in $(seq 100); do
	curl -fsS -o /dev/null "http://127.0.0.1:$port/jwks" 2>/dev/null && break
	sleep 0.1
done
echo "== PostgreSQL, ID tokens RS256"
bin/monban-bench --url "http://127.0.0.1:$port" --dsn "$MONBAN_DATABASE_URL" --duration "$DURATION" \
	--concurrency "$CONCURRENCY" --pid "$pid" --forwarded-for --json bin/bench-pg-rs256.json
echo "== PostgreSQL, ID tokens ES256"
bin/monban-bench --url "http://127.0.0.1:$port" --dsn "$MONBAN_DATABASE_URL" --duration "$DURATION" \
	--concurrency "$CONCURRENCY" --pid "$pid" --forwarded-for --id-token-alg ES256 --json bin/bench-pg-es256.json
