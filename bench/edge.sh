#!/usr/bin/env bash
# The edge under hostile clients, before and after: `graphhook ingest` of this
# tree against the one built from BASELINE (a git revision; default 9ced6ec, before
# body budgets, separate listeners and cached readiness), each on a fresh tansu.
# Per round and build:
#   1. legitimate load: RATE signed deliveries/s for SECONDS (open loop), latency;
#   2. the same load while FLOOD clients hammer /readyz (where each build serves
#      it), latency;
#   3. SLOW senders each announcing 4 MiB and sending one byte less: resident
#      memory before, at its peak and after, and how the senders were answered.
# Prints medians over ROUNDS rounds and the ratios this/baseline.
#
#   bash bench/edge.sh      # ROUNDS=3 RATE=2000 SECONDS_PER_RUN=10 FLOOD=50 SLOW=50
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
RATE=${RATE:-2000}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
FLOOD=${FLOOD:-50}
SLOW=${SLOW:-50}
BASELINE=${BASELINE:-9ced6ec}
# KAFKA_PORT, HTTP_PORT, OPS_PORT, OUT, SECRET, BROKERS and the helpers.

cargo build --release -q -p graphhook -p graphhook-bench
BASE_DIR="$OUT/baseline-$BASELINE"
if [ ! -x "$BASE_DIR/target/release/graphhook" ]; then
  rm -rf "$BASE_DIR"
  git worktree add -f "$BASE_DIR" "$BASELINE" >/dev/null
  (cd "$BASE_DIR" && cargo build --release -q -p graphhook)
fi
BIN=target/release

. bench/lib.sh

start_ingest() { # variant prefix
  local bin=$BIN/graphhook extra=() ready_port=$OPS_PORT
  if [ "$1" = baseline ]; then
    bin=$BASE_DIR/target/release/graphhook
    ready_port=$HTTP_PORT
  else
    extra=(GRAPHHOOK_INGEST__OPS_LISTEN=127.0.0.1:$OPS_PORT GRAPHHOOK_LOG__SUCCESS_LEVEL=off)
  fi
  env "${extra[@]}" GRAPHHOOK_INGEST__LISTEN=127.0.0.1:$HTTP_PORT GRAPHHOOK_KAFKA__BROKERS=$BROKERS \
    GRAPHHOOK_KAFKA__TOPIC_PREFIX="$2" GRAPHHOOK_LOG__LEVEL=warn \
    GRAPHHOOK_APPS__BENCH__APP_ID=1 GRAPHHOOK_APPS__BENCH__SECRETS="[\"$SECRET\"]" \
    "$bin" ingest >>"$OUT/graphhook-edge.log" 2>&1 &
  ingest_pid=$!
  pids+=($ingest_pid)
  READY_ADDR=127.0.0.1:$ready_port
  for _ in $(seq 100); do
    curl -sf "http://$READY_ADDR/readyz" >/dev/null && return
    sleep 0.1
  done
  echo "graphhook ($1) did not become ready" >&2; exit 1
}
stop_ingest() { kill -TERM "$ingest_pid"; wait "$ingest_pid" 2>/dev/null || true; }

load() {
  $BIN/graphhook-bench load --addr "127.0.0.1:$HTTP_PORT" --path /webhooks/bench \
    --deliveries "$OUT/deliveries-1.tsv" --rate "$RATE" --seconds "$SECONDS_PER_RUN" --connections 64
}

$BIN/graphhook-bench deliveries --updates 1 --count 20000 --secret "$SECRET" --out "$OUT/deliveries-1.tsv"
: >"$OUT/edge-rounds.txt"
for round in $(seq "$ROUNDS"); do
  for variant in baseline new; do
    start_broker
    start_ingest "$variant" "edge-$variant-$round-$RANDOM."
    plain=$(load)
    $BIN/graphhook-bench flood --addr "$READY_ADDR" --clients "$FLOOD" --seconds "$((SECONDS_PER_RUN + 1))" >"$OUT/flood.txt" &
    flood_pid=$!
    flooded=$(load)
    wait "$flood_pid"
    slow=$($BIN/graphhook-bench slow-senders --addr "127.0.0.1:$HTTP_PORT" --path /webhooks/bench \
      --pid "$ingest_pid" --connections "$SLOW" --seconds 20)
    stop_ingest
    stop_broker
    line="variant=$variant round=$round plain_p50_ms=$(echo "$plain" | field p50_ms) plain_p99_ms=$(echo "$plain" | field p99_ms) plain_max_ms=$(echo "$plain" | field max_ms) plain_failures=$(echo "$plain" | field failures) flooded_p50_ms=$(echo "$flooded" | field p50_ms) flooded_p99_ms=$(echo "$flooded" | field p99_ms) flooded_max_ms=$(echo "$flooded" | field max_ms) flood_per_s=$(field per_s <"$OUT/flood.txt") ${slow#slow }"
    echo "$line" | tee -a "$OUT/edge-rounds.txt"
  done
done

echo
echo "Medians of $ROUNDS rounds; $RATE deliveries/s for ${SECONDS_PER_RUN}s; $FLOOD /readyz clients; $SLOW slow senders of 4 MiB; $(nproc) cores shared"
echo "| figure | baseline $BASELINE | this tree | this ÷ baseline |"
echo "|---|---|---|---|"
for key in plain_p50_ms plain_p99_ms plain_max_ms plain_failures flooded_p50_ms flooded_p99_ms flooded_max_ms flood_per_s rss_before_mib rss_peak_mib rss_after_mib answered_408 answered_503 held_s; do
  b=$(grep "variant=baseline" "$OUT/edge-rounds.txt" | field "$key" | median)
  n=$(grep "variant=new" "$OUT/edge-rounds.txt" | field "$key" | median)
  r=$(awk -v b="$b" -v n="$n" 'BEGIN { if (b+0 == 0) print "-"; else printf "%.2f", n/b }')
  echo "| $key | $b | $n | $r |"
done
