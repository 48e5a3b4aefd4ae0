#!/usr/bin/env bash
# Ingest benchmark: wrk posting pre-signed deliveries (1 and 50 updates) to
# `graphhook ingest` backed by tansu (memory storage) on loopback, against the
# ceiling of a bare rdkafka producer (acks=all, idempotent, many records in flight)
# sending the same records to the same broker, in the same run. Then latency at a
# fixed 10,000 deliveries/s (open loop). Each figure is the median of ROUNDS rounds.
#
# With BASELINE=<git revision>, that revision's ingest is built too (in a worktree
# under bench/out) and measured in every round right after the current code, on
# the same broker set-up: a change to the shared crates shows its cost on ingest
# in one run, as a ratio of medians.
#
#   bash bench/ingest.sh            # ROUNDS=3 SECONDS_PER_RUN=15 by default
#   BASELINE=9ced6ec CONNECTIONS=256 bash bench/ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-15}
CONNECTIONS=${CONNECTIONS:-256}
FIXED_RATE=${FIXED_RATE:-10000}
# KAFKA_PORT, HTTP_PORT, OPS_PORT, OUT, SECRET, BROKERS and the helpers.

command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q -p graphhook -p graphhook-bench
BIN=target/release
BASE_BIN=
if [ -n "${BASELINE:-}" ]; then
  base_tree="$OUT/baseline-$BASELINE"
  [ -d "$base_tree" ] || git worktree add -f --detach "$base_tree" "$BASELINE" >/dev/null
  (cd "$base_tree" && cargo build --release -q -p graphhook)
  BASE_BIN=$base_tree/target/release
fi

. bench/lib.sh


start_ingest() { # prefix [binary directory]
  GRAPHHOOK_INGEST__LISTEN=127.0.0.1:$HTTP_PORT GRAPHHOOK_INGEST__OPS_LISTEN=127.0.0.1:$OPS_PORT \
  GRAPHHOOK_LOG__SUCCESS_LEVEL=off GRAPHHOOK_KAFKA__BROKERS=$BROKERS \
  GRAPHHOOK_KAFKA__TOPIC_PREFIX=$1 GRAPHHOOK_LOG__LEVEL=warn \
  GRAPHHOOK_APPS__BENCH__APP_ID=1 GRAPHHOOK_APPS__BENCH__SECRETS="[\"$SECRET\"]" \
    "${2:-$BIN}/graphhook" ingest >>"$OUT/graphhook.log" 2>&1 &
  ingest_pid=$!
  pids+=($ingest_pid)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$OPS_PORT/readyz" >/dev/null && return; sleep 0.1; done
  echo "graphhook did not become ready" >&2; exit 1
}
stop_ingest() { kill -TERM "$ingest_pid"; wait "$ingest_pid" 2>/dev/null || true; }

wrk_run() { # deliveries-file -> "rps p50_ms p99_ms non2xx"
  wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s bench/post.lua \
    "http://127.0.0.1:$HTTP_PORT/webhooks/bench" -- "$1" >"$OUT/wrk.txt"
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec/ {print $2}' "$OUT/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$OUT/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$OUT/wrk.txt")
  errors=$(awk '/Non-2xx/ {print $5}' "$OUT/wrk.txt")
  echo "$rps $(to_ms "$p50") $(to_ms "$p99") ${errors:-0}"
}
to_ms() { awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.2f", n }'; }

summary=()
baseline_lines=()
for updates in 1 50; do
  file="$OUT/deliveries-$updates.tsv"
  count=$(( updates == 1 ? 20000 : 2000 ))
  $BIN/graphhook-bench deliveries --updates "$updates" --count "$count" --secret "$SECRET" --out "$file"
  : >"$OUT/rounds-$updates.txt"
  for round in $(seq "$ROUNDS"); do
    start_broker
    bare=$($BIN/graphhook-bench bare-producer --brokers "$BROKERS" --topic-prefix "bare-$updates-$round-$RANDOM." \
      --deliveries "$file" --seconds "$SECONDS_PER_RUN")
    stop_broker
    start_broker
    start_ingest "gh-$updates-$round-$RANDOM."
    read -r rps p50 p99 errors < <(wrk_run "$file")
    stop_ingest
    stop_broker
    base_rps=0
    if [ -n "$BASE_BIN" ]; then
      start_broker
      start_ingest "base-$updates-$round-$RANDOM." "$BASE_BIN"
      read -r base_rps _ _ _ < <(wrk_run "$file")
      stop_ingest
      stop_broker
    fi
    bare_rps=$(echo "$bare" | field records_per_s)
    echo "$rps $p50 $p99 $errors $bare_rps $base_rps" >>"$OUT/rounds-$updates.txt"
    echo "updates=$updates round=$round deliveries_per_s=$rps p50_ms=$p50 p99_ms=$p99 non2xx=$errors bare_records_per_s=$bare_rps baseline_deliveries_per_s=$base_rps"
  done
  if [ -n "$BASE_BIN" ]; then
    base_median=$(awk '{print $6}' "$OUT/rounds-$updates.txt" | median)
    base_ratio=$(awk '$6 > 0 {printf "%.3f\n", $1/$6}' "$OUT/rounds-$updates.txt" | median)
    baseline_lines+=("updates=$updates: current $(awk '{print $1}' "$OUT/rounds-$updates.txt" | median) deliveries/s, baseline $BASELINE $base_median deliveries/s; current/baseline, median of the rounds' ratios: $base_ratio")
  fi
  rps=$(awk '{print $1}' "$OUT/rounds-$updates.txt" | median)
  p50=$(awk '{print $2}' "$OUT/rounds-$updates.txt" | median)
  p99=$(awk '{print $3}' "$OUT/rounds-$updates.txt" | median)
  errors=$(awk '{s+=$4} END {print s+0}' "$OUT/rounds-$updates.txt")
  bare_rps=$(awk '{print $5}' "$OUT/rounds-$updates.txt" | median)
  events=$(awk -v r="$rps" -v u="$updates" 'BEGIN {printf "%.0f", r*u}')
  records=$(awk -v r="$rps" -v u="$updates" 'BEGIN {printf "%.0f", r*(u+1)}')
  ratio=$(awk -v e="$events" -v b="$bare_rps" 'BEGIN {printf "%.2f", e/b}')
  records_ratio=$(awk -v e="$records" -v b="$bare_rps" 'BEGIN {printf "%.2f", e/b}')
  summary+=("| $updates | $rps | $events | $p50 | $p99 | $errors | $bare_rps | $ratio | $records_ratio |")
done

: >"$OUT/fixed-rate.txt"
: >"$OUT/fixed-rate-bare.txt"
for round in $(seq "$ROUNDS"); do
  start_broker
  $BIN/graphhook-bench bare-producer --brokers "$BROKERS" --topic-prefix "bare-fixed-$round-$RANDOM." \
    --deliveries "$OUT/deliveries-1.tsv" --seconds "$SECONDS_PER_RUN" --rate "$FIXED_RATE" | tee -a "$OUT/fixed-rate-bare.txt"
  stop_broker
  start_broker
  start_ingest "fixed-$round-$RANDOM."
  $BIN/graphhook-bench load --addr "127.0.0.1:$HTTP_PORT" --path /webhooks/bench \
    --deliveries "$OUT/deliveries-1.tsv" --rate "$FIXED_RATE" --seconds "$SECONDS_PER_RUN" | tee -a "$OUT/fixed-rate.txt"
  stop_ingest
  stop_broker
done
fixed_p50=$(field p50_ms <"$OUT/fixed-rate.txt" | median)
fixed_p99=$(field p99_ms <"$OUT/fixed-rate.txt" | median)
fixed_rate=$(field achieved_rate <"$OUT/fixed-rate.txt" | median)
fixed_failures=$(field failures <"$OUT/fixed-rate.txt" | awk '{s+=$1} END {print s+0}')
bare_p50=$(field p50_ms <"$OUT/fixed-rate-bare.txt" | median)
bare_p99=$(field p99_ms <"$OUT/fixed-rate-bare.txt" | median)

echo
echo "Medians of $ROUNDS rounds, ${SECONDS_PER_RUN}s each, wrk -t1 -c$CONNECTIONS, $(nproc) cores shared by the load generator, tansu and graphhook"
echo
echo "| updates/delivery | deliveries/s | events/s | p50 ms | p99 ms | non-2xx | bare producer records/s | events/s ÷ bare | all records/s ÷ bare |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${summary[@]}"
echo
echo "Fixed rate $FIXED_RATE deliveries/s (1 update), open loop: achieved $fixed_rate/s, p50 $fixed_p50 ms, p99 $fixed_p99 ms, failures $fixed_failures"
echo "Bare producer, same records at the same rate (send to last ack per delivery): p50 $bare_p50 ms, p99 $bare_p99 ms"
if [ ${#baseline_lines[@]} -gt 0 ]; then
  echo
  echo "Against BASELINE=$BASELINE (alternated in every round):"
  printf '%s\n' "${baseline_lines[@]}"
fi
