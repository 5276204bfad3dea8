#!/usr/bin/env bash
# Starts the real servers the tests need on loopback — a throwaway PostgreSQL 15 cluster — and
# exports where they are. Source it: `source scripts/test-services.sh` (scripts/test.sh does).
# The cluster lives in a fresh directory under /tmp (not under the checkout: as root the server
# runs as the `postgres` user, which may not reach a private clone directory) and is stopped
# and removed when the sourcing shell exits.
# Redis is not started here: tests that need it start (and stop, for the outage tests) their
# own `redis-server` processes, found on PATH or through THERMALIQ_TEST_REDIS_SERVER.
#
# Exports:
#   THERMALIQ_TEST_POSTGRES_URL  postgres://thermaliq@127.0.0.1:PORT/postgres (trust auth); each
#                                test creates and drops its own database on this server.
#   THERMALIQ_TEST_PG_BIN        directory of pg_dump/pg_restore matching the server.

set -euo pipefail

services_root="$(mktemp -d "${TMPDIR:-/tmp}/thermaliq-test-services.XXXXXX")"
chmod 755 "$services_root"
pg_bin="${THERMALIQ_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}"
pg_port="${THERMALIQ_TEST_PG_PORT:-55432}"

if [[ ! -x "$pg_bin/initdb" ]]; then
    echo "test-services: PostgreSQL 15 not found in $pg_bin (apt-get install postgresql-15)" >&2
    return 1 2>/dev/null || exit 1
fi

# PostgreSQL refuses to run as root: run it as the `postgres` system user when we are root.
as_pg=()
if [[ "$(id -u)" == 0 ]]; then
    id -u postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    as_pg=(runuser -u postgres --)
fi

pg_dir="$services_root/postgres"
mkdir -p "$pg_dir/sock"
if [[ "$(id -u)" == 0 ]]; then chown -R postgres "$services_root"; fi
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U thermaliq -A trust --no-sync -E UTF8 \
    --locale=C.UTF-8 >"$pg_dir/initdb.log" 2>&1 || {
    echo "test-services: initdb failed:" >&2; cat "$pg_dir/initdb.log" >&2
    return 1 2>/dev/null || exit 1
}
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null

thermaliq_stop_test_services() {
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$services_root"
}
trap thermaliq_stop_test_services EXIT

export THERMALIQ_TEST_POSTGRES_URL="postgres://thermaliq@127.0.0.1:$pg_port/postgres"
export THERMALIQ_TEST_PG_BIN="$pg_bin"
echo "test-services: PostgreSQL 15 at $THERMALIQ_TEST_POSTGRES_URL"
