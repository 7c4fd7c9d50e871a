#!/usr/bin/env bash
# Data size, paired and interleaved (issue 21): for each monban build, the
# same flows on an empty database and on a copy of one database holding
# BENCH_SEED="U,S,R" (1000000,1000000,5000000) users, live sessions and
# refresh tokens (seed.sql), each on a freshly started cluster and server,
# builds and databases alternating for ROUNDS rounds. Prints monban-bench's
# table per run and, from pg_stat_statements, what each writing statement
# did per call: buffers hit, read (not in shared buffers), dirtied and
# written, full-page images and bytes of WAL. A random key inserted into a
# B-tree larger than the cache shows up there as reads, dirtied pages and
# full-page images long before it moves a rate on a shared machine.
#
#   cmd/monban-bench/datasize.sh SCENARIOS ROUNDS BUILD_DIR...
#
# A BUILD_DIR holds monban and monban-bench binaries (go build -o DIR/
# ./cmd/monban ./cmd/monban-bench); the last one migrates every cluster.
# The seeded cluster is made once (~6 min) and kept as a template in
# BENCH_CACHE (default ~/.cache/monban-bench/datasize-U-S-R, ~6 GB); each
# run copies it (~20 s). BENCH_DURATION (6s) per flow after 3 s of
# unmeasured warm-up, 16 workers, refresh without an ID token.
set -euo pipefail
if [ $# -lt 3 ]; then
	echo "usage: $0 SCENARIOS ROUNDS BUILD_DIR..." >&2
	exit 2
fi
scenarios=$1 rounds=$2
shift 2
builds=("$@")
duration=${BENCH_DURATION:-6s}
IFS=, read -r users sessions tokens <<<"${BENCH_SEED:-1000000,1000000,5000000}"
cachebase=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/monban-bench}
template=$cachebase/datasize-$users-$sessions-$tokens
seed_sql=$(dirname "$(readlink -f "$0")")/seed.sql
pgbin=$(dirname "$(readlink -f "$(command -v initdb 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")")
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
pg_opts="-c listen_addresses='' -c max_connections=50 -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
work=$(mktemp -d /var/tmp/monban-datasize.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$work"
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	for d in "$work"/*/ "$template.new"/; do
		[ -d "$d/data" ] && as_pg "$pgbin/pg_ctl" -D "$d/data" -m immediate stop >/dev/null 2>&1
	done
	rm -rf "$work" "$template.new"
}
trap cleanup EXIT
export MONBAN_SECRETS
MONBAN_SECRETS=$(head -c 32 /dev/urandom | base64)

dsn_of() { echo "host=$1 user=postgres dbname=postgres sslmode=disable"; }

# start_cluster DIR [TEMPLATE]: a new cluster in DIR (a copy of TEMPLATE's),
# started and migrated by the last build.
start_cluster() {
	mkdir -p "$1"
	[ "$(id -u)" = 0 ] && chown postgres "$1"
	if [ -n "${2:-}" ]; then
		cp -a "$2/data" "$1/data"
	else
		as_pg "$pgbin/initdb" -D "$1/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
	fi
	as_pg "$pgbin/pg_ctl" -D "$1/data" -l "$1/log" -w -o "-k $1 $pg_opts" start >/dev/null
	MONBAN_DATABASE_URL=$(dsn_of "$1") "${builds[-1]}/monban" migrate up >/dev/null
	"$pgbin/psql" -q "$(dsn_of "$1")" -c "SET client_min_messages = warning" \
		-c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
}

stop_cluster() { as_pg "$pgbin/pg_ctl" -D "$1/data" -m "${2:-immediate}" stop >/dev/null; }

# measure BUILD CLUSTER LABEL SCENARIOS DURATION: serve on CLUSTER, warm
# up, reset the statement counters, measure, print.
measure() {
	local build=$1 dir=$2 label=$3 scen=$4 dur=$5 dsn port
	dsn=$(dsn_of "$dir")
	port=$(free_port)
	MONBAN_DATABASE_URL=$dsn MONBAN_ISSUER=http://127.0.0.1:$port MONBAN_LISTEN=127.0.0.1:$port \
		MONBAN_MANAGEMENT_LISTEN=off MONBAN_TRUSTED_PROXIES=127.0.0.1 MONBAN_LOG_LEVEL=warn \
		"$build/monban" serve 2>>"$dir/serve.log" &
	pid=$!
	for _ in $(seq 300); do
		curl -fsS -o /dev/null "http://127.0.0.1:$port/jwks" 2>/dev/null && break
		sleep 0.1
	done
	local args=(--url "http://127.0.0.1:$port" --dsn "$dsn" --concurrency 16 --pid "$pid"
		--pg-pid "$(head -1 "$dir/data/postmaster.pid")" --forwarded-for --refresh-id-token=false --scenarios "$scen")
	"$build/monban-bench" "${args[@]}" --duration 3s >/dev/null
	"$pgbin/psql" -q "$dsn" -c "SELECT pg_stat_statements_reset()" >/dev/null
	echo "== $label"
	"$build/monban-bench" "${args[@]}" --duration "$dur"
	"$pgbin/psql" -q -P pager=off "$dsn" -c "SELECT calls,
		round(total_exec_time::numeric / calls * 1000, 1) AS exec_us,
		round(shared_blks_hit::numeric / calls, 1) AS hit, round(shared_blks_read::numeric / calls, 2) AS read,
		round(shared_blks_dirtied::numeric / calls, 2) AS dirtied, round(shared_blks_written::numeric / calls, 2) AS written,
		round(wal_fpi::numeric / calls, 2) AS fpi, round(wal_bytes::numeric / calls) AS wal_bytes,
		left(regexp_replace(query, '\s+', ' ', 'g'), 60) AS statement
		FROM pg_stat_statements WHERE calls > 100 AND wal_bytes > 0 ORDER BY total_exec_time DESC LIMIT 4"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=""
}

if [ ! -d "$template/data" ]; then
	echo "== making $template: $users users, $sessions sessions, $tokens refresh tokens"
	mkdir -p "$cachebase"
	start_cluster "$template.new"
	# The benchmark's clients first: seed.sql gives its tokens to one.
	measure "${builds[0]}" "$template.new" "provisioning" sso 1s >/dev/null
	# A copy is served with other secrets: let each server make its keys.
	"$pgbin/psql" -q -v ON_ERROR_STOP=1 "$(dsn_of "$template.new")" -c "DELETE FROM signing_keys" \
		-v users="$users" -v sessions="$sessions" -v tokens="$tokens" -f "$seed_sql"
	stop_cluster "$template.new" fast
	mv "$template.new" "$template"
fi

for r in $(seq "$rounds"); do
	for i in "${!builds[@]}"; do
		for db in empty seeded; do
			dir=$work/r$r-$i-$db
			if [ $db = seeded ]; then start_cluster "$dir" "$template"; else start_cluster "$dir"; fi
			measure "${builds[$i]}" "$dir" "round $r, ${builds[$i]}, $db" "$scenarios" "$duration"
			stop_cluster "$dir"
			rm -rf "$dir"
		done
	done
done
