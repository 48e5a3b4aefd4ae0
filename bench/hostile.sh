#!/usr/bin/env bash
# Hostile input at ingest's public listener (docs/reliability.md): `graphhook
# ingest` of this tree on a fresh tansu, then `graphhook-bench hostile`
# (bench/src/hostile.rs): MUTATIONS mutated signatures and bodies (a bit flipped
# in the MAC or the body, truncated, case-changed, another app's secret, a header
# replayed from another delivery, the legacy SHA-1 header; every eighth left
# genuine as a control), bodies at, over and without their Content-Length and
# chunked, invalid UTF-8, JSON nested 100,000 deep, an `entry` of 100,000 items,
# a change value of 200,000 elements, 200 slow-header senders and IDLE idle
# connections; ingest's resident memory before and after each. Exits non-zero
# when a forged delivery was accepted, a genuine one refused, or a case was
# answered other than expected.
#
#   bash bench/hostile.sh          # MUTATIONS=1000000 IDLE=10000
set -euo pipefail
cd "$(dirname "$0")/.."

MUTATIONS=${MUTATIONS:-1000000}
IDLE=${IDLE:-10000}
. bench/lib.sh
ulimit -n "$((IDLE + 4096))" 2>/dev/null || true

cargo build --release -q -p graphhook -p graphhook-bench
BIN=target/release

start_broker
start_ingest_of_this_tree "hostile-$RANDOM." "$OUT/graphhook-hostile.log"
status=0
$BIN/graphhook-bench hostile --addr "127.0.0.1:$HTTP_PORT" --app bench --secret "$SECRET" \
  --pid "$ingest_pid" --mutations "$MUTATIONS" --idle "$IDLE" | tee "$OUT/hostile.txt" || status=$?
if ! kill -0 "$ingest_pid" 2>/dev/null; then
  echo "ingest died" >&2; status=1
fi
curl -s "http://127.0.0.1:$OPS_PORT/metrics" | grep -E '^graphhook_(signature_failures|unparseable_deliveries|deliveries)_total' >>"$OUT/hostile.txt" || true
grep -c -E 'panicked|ERROR' "$OUT/graphhook-hostile.log" | sed 's/^/ingest log lines with panicked or ERROR: /'
exit $status
