#!/usr/bin/env bash
# First page load of the browser application against the issue's targets (results:
# docs/PERFORMANCE.md, "Web pages"): the HTML + CSS + JS of /facilities and of the demo
# facility's page under 200 KB, and their server time under 100 ms on the demo data.
# It builds the release binary, starts `thermaliq serve --demo` on a fresh store (a day of
# 1 Hz demo data), signs in with the demo admin token through the sign-in form, runs the demo
# day split hourly from the facility page's run form (24 calculations, so the page shows a
# full trend, loss chart, Sankey, benchmark and recommendations), then measures:
#   - bytes: each page's HTML and the style sheet and script it links (uncompressed);
#   - server time: curl's time to first byte over N sequential requests (median, p95, max),
#     and wrk at one connection for the facility page (wrk runs on the same cores).
# Usage: scripts/web-load.sh [requests per page, default 50] [wrk seconds, default 10]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

REQUESTS="${1:-50}"
DURATION="${2:-10}"
PORT="${PORT:-18089}"
FACILITY=FAC-DEMO-001

if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk
fi
cargo build --release --locked -p thermaliq

DATA="$(mktemp -d)"
LOG="$DATA/serve.log"
JAR="$DATA/cookies"
target/release/thermaliq serve --demo --bind "127.0.0.1:$PORT" --data-dir "$DATA" >"$LOG" 2>&1 &
SERVER=$!
cleanup() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

echo "== starting the demo service (stores a day of 1 Hz readings first)"
for _ in $(seq 1 600); do
  grep -q '"listening"' "$LOG" && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$LOG"; exit 1; }
  sleep 0.5
done
grep -q '"listening"' "$LOG" || { echo "the service did not start"; cat "$LOG"; exit 1; }
BASE="http://127.0.0.1:$PORT"
TOKEN="$(grep -o 'tq_[0-9a-f]\{64\}' "$LOG" | head -1)"

# The value of hidden input `name` in an HTML file.
hidden() { grep -o "name=\"$2\" value=\"[^\"]*\"" "$1" | head -1 | cut -d'"' -f4; }

echo "== signing in through the form"
curl -sf -c "$JAR" -o "$DATA/login.html" "$BASE/login"
# The session cookie is `Secure`: read it from the answer and send it as a header, since
# curl keeps Secure cookies for https only.
curl -sf -b "$JAR" -D "$DATA/login.headers" -o /dev/null -X POST "$BASE/login" \
  --data-urlencode "token=$TOKEN" --data-urlencode "csrf=$(hidden "$DATA/login.html" csrf)"
SESSION=$(grep -io 'set-cookie: thermaliq_session=[0-9a-f]*' "$DATA/login.headers" | cut -d= -f2)
[[ -n "$SESSION" ]] || { echo "sign-in failed"; cat "$DATA/login.headers"; exit 1; }
COOKIE="Cookie: thermaliq_session=$SESSION"

echo "== running the demo day split hourly from the facility page"
curl -sf -H "$COOKIE" -o "$DATA/facility.html" "$BASE/facilities/$FACILITY"
DAY=$(date -u -d @$(( $(date -u +%s) / 86400 * 86400 - 86400 )) +%Y-%m-%d)
NEXT=$(date -u -d "$DAY + 1 day" +%Y-%m-%d)
RUN_S=$(curl -sf -H "$COOKIE" -o /dev/null -w '%{time_total}' -X POST "$BASE/facilities/$FACILITY/calculate" \
  --data-urlencode "start=${DAY}T00:00" --data-urlencode "end=${NEXT}T00:00" \
  --data-urlencode split=hourly --data-urlencode "csrf=$(hidden "$DATA/facility.html" csrf)")
echo "24 hourly calculations from the run form: ${RUN_S} s"

# Bytes of a page and of the assets it links: "html css js total".
weigh() {
  local html="$DATA/page.html"
  curl -sf -H "$COOKIE" -o "$html" "$BASE$1"
  local css js
  css=$(grep -o 'href="/static/app.css[^"]*"' "$html" | head -1 | cut -d'"' -f2)
  js=$(grep -o 'src="/static/app.js[^"]*"' "$html" | head -1 | cut -d'"' -f2)
  local h c j
  h=$(stat -c %s "$html")
  c=$(curl -sf -o /dev/null -w '%{size_download}' "$BASE$css")
  j=$(curl -sf -o /dev/null -w '%{size_download}' "$BASE$js")
  echo "$h $c $j $((h + c + j))"
}

# Time to first byte of `REQUESTS` sequential GETs of a page, ms: "median p95 max".
ttfb() {
  for _ in $(seq 1 "$REQUESTS"); do
    curl -sf -H "$COOKIE" -o /dev/null -w '%{time_starttransfer}\n' "$BASE$1"
  done | sort -n | awk '{ t[NR] = $1 * 1000 } END {
    printf "%.1f %.1f %.1f\n", t[int((NR + 1) / 2)], t[int(NR * 0.95 + 0.999)], t[NR] }'
}

echo "== page weight and server time ($REQUESTS requests each)"
printf '%-32s %8s %8s %8s %8s %10s %10s %10s\n' page html css js total "ttfb p50" "ttfb p95" "ttfb max"
for page in /facilities "/facilities/$FACILITY"; do
  read -r h c j total < <(weigh "$page")
  read -r p50 p95 max < <(ttfb "$page")
  printf '%-32s %8s %8s %8s %8s %8s ms %8s ms %8s ms\n' "$page" "$h" "$c" "$j" "$total" "$p50" "$p95" "$max"
  echo "RESULT page=$page bytes=$total ttfb_p50_ms=$p50 ttfb_p95_ms=$p95 ttfb_max_ms=$max"
done

echo "== wrk, facility page, 1 connection, ${DURATION} s"
wrk -t1 -c1 -d"${DURATION}s" --latency -H "$COOKIE" \
  "$BASE/facilities/$FACILITY" | tee "$DATA/wrk.txt"
