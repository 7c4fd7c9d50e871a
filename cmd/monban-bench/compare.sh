#!/usr/bin/env bash
# monban on PostgreSQL against zitadel/oidc's in-memory example OP, same
# load driver, same run (issue 21; used by `make bench`). It builds the
# example server of github.com/zitadel/oidc/v3 (pinned below) from the Go
# module proxy into a cache directory, starts it and monban (on a
# throwaway PostgreSQL cluster, fsync on, as pgrun.sh) on loopback, runs
# refresh, client_credentials and introspection against both with the
# same workers, and prints the rates, their ratios and the CPU per
# iteration of each process (/proc/<pid>/stat), PostgreSQL's backends
# counted for monban.
#
# BENCH_PHASES (default "compare") picks what runs, in this order:
#   compare   the three flows (and monban's SSO flow) against both, and
#             monban's refresh once more for a client without an ID
#             token on refresh (OIDC Core §12.2)
#   revoke    monban's introspection and userinfo quiet, while other
#             people are logged out at BENCH_REVOKE_RATE (100) per second,
#             and quiet again; an idle scenario in each measures the
#             revocations' own CPU, which --revocation-cost takes out
#   seed      load BENCH_SEED="U,S,R" (1000000,1000000,5000000) users,
#             live sessions and refresh tokens with generate_series (no
#             API), then run sso, refresh and introspection again
# Other settings: BENCH_PPROF=1 serves pprof on monban's management
# listener for the whole run; MONBAN_BIN=path measures another monban
# binary (a release).
set -euo pipefail
GO=${GO:-go}
DURATION=${BENCH_DURATION:-3s}
CONCURRENCY=${BENCH_CONCURRENCY:-16}
ZITADEL_VERSION=v3.51.3
cache=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/monban-bench}/zitadel-oidc-$ZITADEL_VERSION
mkdir -p bin "$cache"
$GO build -o bin/monban ./cmd/monban
$GO build -o bin/monban-bench ./cmd/monban-bench
monban=${MONBAN_BIN:-bin/monban}
if [ ! -x "$cache/server" ]; then
	echo "building zitadel/oidc $ZITADEL_VERSION example/server into $cache"
	(cd "$cache" && GOBIN="$cache" GOFLAGS=-mod=mod $GO install "github.com/zitadel/oidc/v3/example/server@$ZITADEL_VERSION")
fi

pgbin=$(dirname "$(readlink -f "$(command -v initdb 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")")
dir=$(mktemp -d /var/tmp/monban-bench-pg.XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
pid="" zpid=""
# Every step may fail (a server killed by SIGTERM exits non-zero) without
# skipping the next: set -e must not leave the cluster running.
cleanup() {
	for p in $pid $zpid; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	as_pg "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
as_pg "$pgbin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
	-o "-k $dir -c listen_addresses='' -c max_connections=50" start >/dev/null
pgpid=$(head -1 "$dir/data/postmaster.pid")

# free_port prints a loopback TCP port nobody listens on, from $1 up.
free_port() {
	local p=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}
wait_http() {
	for _ in $(seq 200); do
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "no answer from $1" >&2
	return 1
}

export MONBAN_DATABASE_URL="host=$dir user=postgres dbname=postgres sslmode=disable"
export MONBAN_SECRETS
MONBAN_SECRETS=$(head -c 32 /dev/urandom | base64)
$monban migrate up >/dev/null
port=$(free_port 18080)
mgmt=off
[ -n "${BENCH_PPROF:-}" ] && mgmt=127.0.0.1:$(free_port 19090) && export MONBAN_PPROF=true
MONBAN_ISSUER=http://127.0.0.1:$port MONBAN_LISTEN=127.0.0.1:$port MONBAN_MANAGEMENT_LISTEN=$mgmt \
	MONBAN_TRUSTED_PROXIES=127.0.0.1 MONBAN_LOG_LEVEL=warn $monban serve &
pid=$!
wait_http "http://127.0.0.1:$port/jwks"
[ "$mgmt" != off ] && echo "pprof: http://$mgmt/debug/pprof/"

zport=$(free_port 19998)
# The example logs every request at debug level to stderr, as shipped.
PORT=$zport "$cache/server" 2>/dev/null &
zpid=$!
wait_http "http://localhost:$zport/.well-known/openid-configuration"

common=(--duration "$DURATION" --concurrency "$CONCURRENCY" --max-requests 5000000)
flows=refresh,client_credentials,introspection
if [[ " ${BENCH_PHASES:-compare} " == *" compare "* ]]; then
	# Each flow runs against monban, then at once against the example, so
	# the other tenants of a shared machine disturb both alike.
	rm -f bin/cmp-monban-*.json bin/cmp-zitadel-*.json bin/cmp-noid-*.json
	for flow in ${flows//,/ } sso; do
		echo "== $flow: monban $($monban version 2>/dev/null | head -1) on PostgreSQL (pid $pid, postmaster $pgpid)"
		bin/monban-bench --url "http://127.0.0.1:$port" --dsn "$MONBAN_DATABASE_URL" "${common[@]}" --pid "$pid" --pg-pid "$pgpid" \
			--forwarded-for --scenarios "$flow" --json "bin/cmp-monban-$flow.json"
		[ "$flow" = sso ] && continue # the example has no sign-in session to reuse
		if [ "$flow" = refresh ]; then
			# OIDC Core §12.2: the ID token on refresh is optional; the
			# same flow for a client registered without it (issue 21).
			echo "== refresh without an ID token: monban"
			bin/monban-bench --url "http://127.0.0.1:$port" --dsn "$MONBAN_DATABASE_URL" "${common[@]}" --pid "$pid" --pg-pid "$pgpid" \
				--forwarded-for --scenarios refresh --refresh-id-token=false --json bin/cmp-noid-monban-refresh.json
		fi
		echo "== $flow: zitadel/oidc $ZITADEL_VERSION example OP, in memory (pid $zpid)"
		bin/monban-bench --url "http://localhost:$zport" "${common[@]}" --pid "$zpid" --scope "openid profile offline_access" \
			--client-id web --client-secret secret --redirect-uri http://localhost:9999/auth/callback \
			--machine-id sid1 --machine-secret verysecret --username test-user@localhost --password verysecure \
			--scenarios "$flow" --json "bin/cmp-zitadel-$flow.json"
	done
	echo "== ratios (monban / zitadel example; CPU per iteration in ms)"
	bin/monban-bench --compare "bin/cmp-monban-*.json,bin/cmp-zitadel-*.json"
	echo "== refresh: monban without an ID token / the example with one (RS256)"
	bin/monban-bench --compare "bin/cmp-noid-monban-refresh.json,bin/cmp-zitadel-refresh.json"
fi

phases=" ${BENCH_PHASES:-compare} "
monban_run() { # monban_run SCENARIOS JSON [flags…]
	local scenarios=$1 out=$2
	shift 2
	bin/monban-bench --url "http://127.0.0.1:$port" --dsn "$MONBAN_DATABASE_URL" "${common[@]}" --pid "$pid" --pg-pid "$pgpid" \
		--forwarded-for --scenarios "$scenarios" --json "$out" "$@"
}

if [[ $phases == *" revoke "* ]]; then
	rate=${BENCH_REVOKE_RATE:-100}
	# idle: no requests, so what the servers spend is the revocations'
	# own cost (and background jobs); --revocation-cost takes it out.
	# client_credentials reads nothing from the store: the control for
	# what the revoker's load does to any request on a shared machine.
	echo "== monban: introspection and userinfo, quiet"
	monban_run introspection,userinfo,client_credentials,idle bin/cmp-quiet.json
	echo "== monban: the same while other people are logged out at $rate/s"
	monban_run introspection,userinfo,client_credentials,idle bin/cmp-revoking.json --revoke-rate "$rate"
	echo "== monban: quiet again"
	monban_run introspection,userinfo,client_credentials,idle bin/cmp-quiet2.json
	echo "== under revocations / quiet (before, after)"
	bin/monban-bench --compare bin/cmp-revoking.json,bin/cmp-quiet.json
	bin/monban-bench --compare bin/cmp-revoking.json,bin/cmp-quiet2.json
	echo "== CPU per iteration, quiet (before, after) and revoking, net of the revocations' own cost"
	bin/monban-bench --revocation-cost bin/cmp-quiet.json,bin/cmp-revoking.json
	bin/monban-bench --revocation-cost bin/cmp-quiet2.json,bin/cmp-revoking.json
fi

if [[ $phases == *" seed "* ]]; then
	IFS=, read -r users sessions tokens <<<"${BENCH_SEED:-1000000,1000000,5000000}"
	echo "== monban, empty database"
	monban_run sso,refresh,introspection bin/cmp-empty.json
	echo "== loading $users users, $sessions sessions, $tokens refresh tokens"
	start=$(date +%s)
	"$pgbin/psql" -q -v ON_ERROR_STOP=1 "$MONBAN_DATABASE_URL" \
		-v users="$users" -v sessions="$sessions" -v tokens="$tokens" -f cmd/monban-bench/seed.sql
	echo "loaded in $(($(date +%s) - start)) s"
	monban_run sso,refresh,introspection bin/cmp-seeded.json
	echo "== with the data / empty"
	bin/monban-bench --compare bin/cmp-seeded.json,bin/cmp-empty.json
fi
