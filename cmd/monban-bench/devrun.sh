#!/usr/bin/env bash
# A short, bounded load run of monban-bench against `monban serve --dev`
# on loopback (used by `make bench`). The development server's demo user
# and client are read from what it prints; it has no client with the
# client_credentials grant, so that scenario is skipped here (see
# BENCHMARKS.md for a PostgreSQL run that provisions one).
set -euo pipefail
GO=${GO:-go}
DURATION=${BENCH_DURATION:-2s}
mkdir -p bin
$GO build -o bin/monban ./cmd/monban
$GO build -o bin/monban-bench ./cmd/monban-bench
log=$(mktemp)
start=$(date +%s%N)
MONBAN_TRUSTED_PROXIES=127.0.0.1 bin/monban serve --dev --management-listen 127.0.0.1:19099 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 2000); do
	curl -fs -o /dev/null http://127.0.0.1:19099/readyz 2>/dev/null && break
	sleep 0.005
done
echo "ready (/readyz 200) $(( ($(date +%s%N) - start) / 1000000 )) ms after start"
sleep 2
echo "idle RSS: $(awk '/VmRSS/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$pid/status")"
user=$(sed -n 's/.*username "\([^"]*\)".*/\1/p' "$log")
pass=$(sed -n 's/.*password "\([^"]*\)".*/\1/p' "$log")
read -r id secret redirect < <(awk '$1 == "client" && $2 == "demo-app-1" { print $2, $4, $6 }' "$log")
bin/monban-bench --url http://localhost:8080 --client-id "$id" --client-secret "$secret" --redirect-uri "$redirect" \
	--username "$user" --password "$pass" --duration "$DURATION" --concurrency 4 --max-requests 200000 \
	--pid "$pid" --forwarded-for --json bin/bench-results.json
