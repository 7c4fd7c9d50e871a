#!/usr/bin/env bash
# monban on PostgreSQL against two in-memory reference providers, same
# load driver, same run (issue 21; used by `make bench`): zitadel/oidc's
# example OP and panva's node oidc-provider. It builds the example server
# of github.com/zitadel/oidc/v3 (pinned below) from the Go module proxy
# into a cache directory, installs oidc-provider with `npm ci` from
# oidcprovider/package-lock.json into another, starts them and monban (on
# a throwaway PostgreSQL cluster, fsync on, as pgrun.sh) on loopback,
# runs refresh, client_credentials, introspection and the SSO flow
# against each with the same workers, and prints the rates, monban's
# ratio to the faster reference and the CPU per iteration of each process
# (/proc/<pid>/stat), PostgreSQL's backends counted for monban. Without
# node and npm (or the npm registry) oidc-provider is left out, said so,
# and the rest runs.
#
# BENCH_PHASES (default "compare") picks what runs, in this order:
#   compare   the four flows against monban and each reference (the
#             zitadel example has no sign-in session, so no SSO), and
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
# binary (a release); BENCH_NODE=path runs oidc-provider on another node
# (oidc-provider 9 supports Node.js 22 LTS and later; it runs on 20 with
# a warning); BENCH_WARMUP (60s) bounds its warm-up. monban and the zitadel
# example get BENCH_GO_WARMUP (3s) per flow, unmeasured, before theirs.
set -euo pipefail
GO=${GO:-go}
DURATION=${BENCH_DURATION:-3s}
CONCURRENCY=${BENCH_CONCURRENCY:-16}
ZITADEL_VERSION=v3.51.3
cachebase=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/monban-bench}
cache=$cachebase/zitadel-oidc-$ZITADEL_VERSION
mkdir -p bin "$cache"
$GO build -o bin/monban ./cmd/monban
$GO build -o bin/monban-bench ./cmd/monban-bench
monban=${MONBAN_BIN:-bin/monban}
if [ ! -x "$cache/server" ]; then
	echo "building zitadel/oidc $ZITADEL_VERSION example/server into $cache"
	(cd "$cache" && GOBIN="$cache" GOFLAGS=-mod=mod $GO install "github.com/zitadel/oidc/v3/example/server@$ZITADEL_VERSION")
fi

# oidc-provider: the version package-lock.json pins, installed once per
# lock file (the directory is named by its hash) into a fresh directory
# moved into place, so an interrupted install never leaves half of one.
# op_dir stays empty when it cannot run; the rest of the run goes on. Only
# the compare phase uses it.
phases=" ${BENCH_PHASES:-compare} "
opsrc=cmd/monban-bench/oidcprovider
NODE=${BENCH_NODE:-node}
op_dir="" op_skip=""
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)
if [[ $phases != *" compare "* ]]; then
	op_skip="the compare phase does not run"
elif [ -z "$node_major" ] || ! command -v npm >/dev/null 2>&1; then
	op_skip="node ($NODE) and npm are needed and not both found"
elif [ "$node_major" -lt 20 ]; then
	op_skip="$NODE is Node.js $("$NODE" --version); oidc-provider 9 needs 20 or later (22 LTS supported)"
else
	op_dir=$cachebase/oidc-provider-$(cat "$opsrc/package.json" "$opsrc/package-lock.json" | sha256sum | cut -c1-16)
	if [ ! -f "$op_dir/node_modules/oidc-provider/package.json" ]; then
		echo "installing oidc-provider ($opsrc/package-lock.json) into $op_dir"
		tmp=$(mktemp -d "$cachebase/oidc-provider-install.XXXXXX")
		cp "$opsrc/package.json" "$opsrc/package-lock.json" "$tmp/"
		if (cd "$tmp" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null); then
			mv -T "$tmp" "$op_dir" 2>/dev/null || rm -rf "$tmp" # another run won the race
		else
			rm -rf "$tmp"
			op_skip="npm ci failed (is the npm registry reachable?)" op_dir=""
		fi
	fi
fi
# The script runs next to its node_modules (ES modules resolve from the
# script's directory); copied anew each run.
[ -n "$op_dir" ] && cp "$opsrc/server.mjs" "$op_dir/server.mjs"

pgbin=$(dirname "$(readlink -f "$(command -v initdb 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")")
dir=$(mktemp -d /var/tmp/monban-bench-pg.XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
pid="" zpid="" opid=""
# Every step may fail (a server killed by SIGTERM exits non-zero) without
# skipping the next: set -e must not leave the cluster running.
cleanup() {
	for p in $pid $zpid $opid; do
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
wait_http() { # wait_http URL [tries, 0.05 s apart]
	for _ in $(seq "${2:-200}"); do
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

if [ -n "$op_dir" ]; then
	oport=$(free_port 20998)
	# Its warnings (the development adapter, default TTLs, the runtime)
	# go to a log, shown if it does not start.
	PORT=$oport NODE_ENV=production "$NODE" "$op_dir/server.mjs" >"$dir/oidc-provider.log" 2>&1 &
	opid=$!
	if ! wait_http "http://127.0.0.1:$oport/.well-known/openid-configuration" 600; then
		cat "$dir/oidc-provider.log" >&2
		kill "$opid" 2>/dev/null || true
		opid="" op_dir="" op_skip="it did not start"
	fi
fi
op_version=$(sed -n 's/.*"oidc-provider": "\(.*\)".*/\1/p' "$opsrc/package.json")
if [ -n "$op_dir" ]; then
	echo "oidc-provider $op_version on Node.js $("$NODE" --version) (pid $opid)$(grep -q 'Unsupported runtime' "$dir/oidc-provider.log" &&
		echo ", a runtime it warns it does not support (it wants Node.js 22 LTS or later)")"
elif [[ $phases == *" compare "* ]]; then
	echo "oidc-provider: left out, $op_skip; comparing with the zitadel example only"
fi
# op_interactions prints how many sign-ins oidc-provider's bench
# interaction has done (server.mjs); -1 when it does not answer.
op_interactions() {
	local b
	b=$(curl -fsS "http://127.0.0.1:$oport/bench/interactions" 2>/dev/null) && echo "${b//[!0-9]/}" || echo -1
}

common=(--duration "$DURATION" --concurrency "$CONCURRENCY" --max-requests 5000000)
flows=refresh,client_credentials,introspection
# op_run FLOW [flags…] drives oidc-provider. Each flow is its own run with
# fresh sign-ins: its MemoryAdapter is an LRU of 1,000 entries, so the
# thousands of tokens one flow writes push out the sessions and tokens
# another flow's workers hold.
op_run() {
	local flow=$1
	shift
	bin/monban-bench --url "http://127.0.0.1:$oport" --concurrency "$CONCURRENCY" --pid "$opid" \
		--client-id web --client-secret web-secret --redirect-uri http://127.0.0.1:9/callback \
		--machine-id machine --machine-secret machine-secret --scenarios "$flow" "$@"
}
if [ -n "$op_dir" ]; then
	# V8 compiles a function to optimised code only after many calls: the
	# first thousands of requests cost oidc-provider several times what
	# they cost later (measured on a loaded machine: client_credentials
	# 1.6 ms of CPU in its first 1,000, 0.9 in the next 2,800; refresh 2.3
	# in its first 1,400, 1.1 in the next 5,000). So the warm-up is a
	# number of iterations, the time only a bound (BENCH_WARMUP). Go has
	# no such warm-up.
	echo "== oidc-provider: warm-up, each flow 10000 times or for ${BENCH_WARMUP:-60s} (not measured)"
	for flow in ${flows//,/ } sso; do
		op_run "$flow" --duration "${BENCH_WARMUP:-60s}" --max-requests 10000 | grep -v '^scenario' || true
	done
fi
if [[ $phases == *" compare "* ]]; then
	# Each flow runs against monban, then at once against each reference,
	# so the other tenants of a shared machine disturb all alike.
	rm -f bin/cmp-monban-*.json bin/cmp-zitadel-*.json bin/cmp-noid-*.json bin/cmp-oidcprovider-*.json
	# The Go servers are warmed up too, briefly: each PostgreSQL connection
	# of monban's pool prepares and plans a statement on its first
	# executions (the one-statement refresh rotation plans for ~1 ms), and
	# both runtimes size their heaps; a 5 s run would count that one-off
	# work against the steady state the comparison is about.
	echo "== monban and the zitadel example: warm-up, each flow ${BENCH_GO_WARMUP:-3s} (not measured)"
	for flow in ${flows//,/ } sso; do
		bin/monban-bench --url "http://127.0.0.1:$port" --dsn "$MONBAN_DATABASE_URL" --concurrency "$CONCURRENCY" \
			--duration "${BENCH_GO_WARMUP:-3s}" --forwarded-for --scenarios "$flow" >/dev/null || true
		[ "$flow" = sso ] && continue
		bin/monban-bench --url "http://localhost:$zport" --concurrency "$CONCURRENCY" --duration "${BENCH_GO_WARMUP:-3s}" \
			--scope "openid profile offline_access" --client-id web --client-secret secret \
			--redirect-uri http://localhost:9999/auth/callback --machine-id sid1 --machine-secret verysecret \
			--username test-user@localhost --password verysecure --scenarios "$flow" >/dev/null || true
	done
	for flow in ${flows//,/ } sso; do
		echo "== $flow: monban $($monban version 2>/dev/null | head -1) on PostgreSQL (pid $pid, postmaster $pgpid)"
		bin/monban-bench --url "http://127.0.0.1:$port" --dsn "$MONBAN_DATABASE_URL" "${common[@]}" --pid "$pid" --pg-pid "$pgpid" \
			--forwarded-for --scenarios "$flow" --json "bin/cmp-monban-$flow.json"
		if [ "$flow" = refresh ]; then
			# OIDC Core §12.2: the ID token on refresh is optional; the
			# same flow for a client registered without it (issue 21).
			echo "== refresh without an ID token: monban"
			bin/monban-bench --url "http://127.0.0.1:$port" --dsn "$MONBAN_DATABASE_URL" "${common[@]}" --pid "$pid" --pg-pid "$pgpid" \
				--forwarded-for --scenarios refresh --refresh-id-token=false --json bin/cmp-noid-monban-refresh.json
		fi
		if [ "$flow" != sso ]; then # the example has no sign-in session to reuse
			echo "== $flow: zitadel/oidc $ZITADEL_VERSION example OP, in memory (pid $zpid)"
			bin/monban-bench --url "http://localhost:$zport" "${common[@]}" --pid "$zpid" --scope "openid profile offline_access" \
				--client-id web --client-secret secret --redirect-uri http://localhost:9999/auth/callback \
				--machine-id sid1 --machine-secret verysecret --username test-user@localhost --password verysecure \
				--scenarios "$flow" --json "bin/cmp-zitadel-$flow.json"
		fi
		[ -n "$op_dir" ] || continue
		echo "== $flow: oidc-provider $op_version, in memory (pid $opid)"
		before=$(op_interactions)
		# A failed run (e.g. its sign-ins) leaves no result and no ratio.
		op_run "$flow" "${common[@]}" --json "bin/cmp-oidcprovider-$flow.json" || echo "oidc-provider: the $flow run failed" >&2
		signins=$(($(op_interactions) - before))
		if [ "$flow" = sso ]; then
			# Every worker signs in once through the interaction; the SSO
			# iterations must go through none (session cookie only).
			if [ "$signins" -ne "$CONCURRENCY" ]; then
				echo "oidc-provider: $signins interactions for $CONCURRENCY sign-ins: SSO iterations went through" \
					"the sign-in, so its SSO result is dropped" >&2
				rm -f bin/cmp-oidcprovider-sso.json
			else
				echo "oidc-provider: $signins interactions, one per worker's sign-in; none in the SSO iterations"
			fi
		fi
	done
	refs="zitadel=bin/cmp-zitadel-*.json"
	if compgen -G "bin/cmp-oidcprovider-*.json" >/dev/null; then
		refs+=",oidc-provider=bin/cmp-oidcprovider-*.json"
	fi
	echo "== rates per second, monban / the faster in-memory reference, CPU per iteration (ms)"
	bin/monban-bench --compare "monban=bin/cmp-monban-*.json,$refs"
	echo "== refresh: monban without an ID token / the references with one (RS256)"
	refs="zitadel=bin/cmp-zitadel-refresh.json"
	[ -f bin/cmp-oidcprovider-refresh.json ] && refs+=",oidc-provider=bin/cmp-oidcprovider-refresh.json"
	bin/monban-bench --compare "monban=bin/cmp-noid-monban-refresh.json,$refs"
fi

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
