#!/usr/bin/env bash
# Backfill throughput: a real influxd (Debian `influxdb`) on loopback holding POINTS historian
# points (8 series of the refinery heater example at 1 Hz), read by the release binary's
# `thermaliq backfill` into a fresh SQLite store through the API's ingest path. Prints the
# binary's own summary (readings and readings/min) and the wall time of the whole command.
# The target in docs/PERFORMANCE.md is at least 1,000,000 points per minute.
#
#   scripts/bench-backfill.sh [POINTS]     (default 2,000,000; needs influxd, curl, python3)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

points=${1:-2000000}
series=8
seconds=$(( (points + series - 1) / series ))
work=$(mktemp -d)
influx_pid=""
cleanup() {
    if [[ -n "$influx_pid" ]]; then kill "$influx_pid" 2>/dev/null || true; wait "$influx_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
rpc_port=$(free_port)

echo "== release build"
cargo build --release -q -p thermaliq
bin=target/release/thermaliq

echo "== influxd on 127.0.0.1:$http_port"
: > "$work/influxdb.conf"
INFLUXDB_BIND_ADDRESS=127.0.0.1:$rpc_port INFLUXDB_HTTP_BIND_ADDRESS=127.0.0.1:$http_port \
INFLUXDB_META_DIR=$work/meta INFLUXDB_DATA_DIR=$work/data INFLUXDB_DATA_WAL_DIR=$work/wal \
INFLUXDB_REPORTING_DISABLED=true INFLUXDB_HTTP_LOG_ENABLED=false \
INFLUXDB_DATA_QUERY_LOG_ENABLED=false INFLUXDB_HTTP_MAX_BODY_SIZE=0 \
    influxd run -config "$work/influxdb.conf" 2>"$work/influxd.log" &
influx_pid=$!
for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$http_port/ping" >/dev/null && break
    sleep 0.1
done
curl -sf -XPOST "http://127.0.0.1:$http_port/query" --data-urlencode 'q=CREATE DATABASE plant' >/dev/null

echo "== writing $((seconds * series)) points ($series series x $seconds s at 1 Hz)"
start_us=1735689600000000   # 2025-01-01T00:00:00Z
python3 - "$seconds" "$start_us" "$work/lines" <<'EOF'
import sys
n, t0, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(out, "w") as f:
    for i in range(n):
        f.write("heater,unit=H-101 f1=%s,f2=%s,t1=%s,t2=%s,o2=%s,tg=%s,co=%s,ta=%s %d\n" % (
            1000 + i % 600 * 0.5, 400 + i % 37 * 0.25, 180 + i % 97 / 8, 320 + i % 89 / 8,
            3 + i % 13 / 10, 160 + i % 71 / 4, 20 + i % 11, 15 + i % 23 / 10, t0 + i * 1000000))
EOF
split -l 50000 "$work/lines" "$work/part-"
for part in "$work"/part-*; do
    curl -sf -XPOST "http://127.0.0.1:$http_port/write?db=plant&precision=u" --data-binary @"$part"
done

cat examples/facilities/refinery-heater.toml > "$work/facility.toml"
cat >> "$work/facility.toml" <<EOF

[[connectors.historian]]
name = "plant-influx"
kind = "influxdb1"
url = "http://127.0.0.1:$http_port"
database = "plant"
chunk_s = 3600
EOF
for s in f1:FI-1001:kg/h f2:FI-1010:t/h t1:TI-1011:°C t2:TI-1012:°C o2:AI-1020:% tg:TI-1021:°C co:AI-1022:ppm ta:TI-1030:°C; do
    IFS=: read -r field tag unit <<<"$s"
    cat >> "$work/facility.toml" <<EOF

[[connectors.historian.series]]
tag = "$tag"
measurement = "heater"
field = "$field"
tags = { unit = "H-101" }
unit = "$unit"
EOF
done
"$bin" facility apply "$work/facility.toml" --data-dir "$work/store" >/dev/null

to=$(python3 -c "import datetime,sys; print(datetime.datetime.fromtimestamp(($start_us + $seconds * 1000000) / 1e6, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))")
echo "== backfill 2025-01-01T00:00:00Z .. $to"
started=$(date +%s.%N)
"$bin" backfill --facility FAC-REF-002 --from 2025-01-01T00:00:00Z --to "$to" --data-dir "$work/store" 2>/dev/null
ended=$(date +%s.%N)
python3 -c "w=$ended-$started; print(f'wall time of the command: {w:.2f} s, {$seconds*$series*60/w:,.0f} points/min')"
