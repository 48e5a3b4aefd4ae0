#!/usr/bin/env bash
# Processor benchmark, on tansu (memory storage) and the machine's PostgreSQL.
#
# 1. Throughput: events.v1 is filled with COUNT events of the realistic mix
#    (comments 70%, mentions 10%, story insights 10%, permissions 5%, feed 5%;
#    1,000 accounts). Baseline: a bare consumer reading them, doing nothing. Then
#    the processor takes them to committed PostgreSQL state and acknowledged
#    outputs; events/s is measured from its first committed batch to the last.
#    Second baseline, raw PostgreSQL: the rows the run left and the output records
#    it sent, written again into a fresh database batch by batch with one
#    multi-row statement per table and no broker (bench/src/raw_store.rs); the
#    processor's events/s over that is its ratio to raw PostgreSQL.
# 2. Latency: `graphhook run` (ingest + processor, real broker, PostgreSQL) receives
#    RATE deliveries/s of the same mix (open loop) for SECONDS_PER_RUN, after a 5 s
#    warm-up that is not measured; the processor's webhook-to-commit histogram
#    (observations of the measured window only) gives p50/p99, interpolated within
#    its buckets, next to ingest's own response latency at that rate. The load
#    generator repeats about 11% of deliveries (as Meta's retries do); repeats are
#    not observed by the histogram, which counts applied events.
#
# Each figure is the median of ROUNDS rounds, with a fresh broker and database each.
# With BASELINE=<git revision>, that revision is built too (in a worktree under
# bench/out) and measured in every round right after the current code, so that
# both are compared in the same run on the same (noisy, shared) machine.
#
# MEASURE=latency (or throughput) runs one part only, e.g. with more ROUNDS where
# the machine's noise (CPU steal on a shared host) makes three rounds too few.
#
#   bash bench/processor.sh       # ROUNDS=3 COUNT=100000 RATE=500 SECONDS_PER_RUN=30
#   BASELINE=9ced6ec bash bench/processor.sh
#   MEASURE=latency ROUNDS=7 BASELINE=9ced6ec bash bench/processor.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
COUNT=${COUNT:-100000}
RATE=${RATE:-500}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-30}
MEASURE=${MEASURE:-throughput,latency}
KAFKA_PORT=${BENCH_KAFKA_PORT:-19092}
HTTP_PORT=${BENCH_HTTP_PORT:-18080}
PROCESSOR_PORT=${BENCH_PROCESSOR_PORT:-18081}
INGEST_OPS_PORT=${BENCH_INGEST_OPS_PORT:-19080}
PROCESSOR_OPS_PORT=${BENCH_PROCESSOR_OPS_PORT:-19081}
PG_ADMIN=${BENCH_PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
OUT=bench/out
SECRET=bench-secret
BROKERS=127.0.0.1:$KAFKA_PORT
mkdir -p "$OUT"

command -v psql >/dev/null || { echo "psql is required" >&2; exit 1; }
cargo build --release -q -p graphhook -p graphhook-bench
BIN=target/release
variants=("current:$BIN")
if [ -n "${BASELINE:-}" ]; then
  base_tree="$OUT/baseline-$BASELINE"
  [ -d "$base_tree" ] || git worktree add -f --detach "$base_tree" "$BASELINE" >/dev/null
  (cd "$base_tree" && cargo build --release -q -p graphhook -p graphhook-bench)
  variants+=("baseline:$base_tree/target/release")
fi

. bench/lib.sh



if [[ $MEASURE == *throughput* ]]; then
: >"$OUT/processor-throughput.txt"
for round in $(seq "$ROUNDS"); do
  for variant in "${variants[@]}"; do
    name=${variant%%:*} vbin=${variant#*:}
    start_broker
    prefix="proc-$round-$RANDOM."
    db=$(fresh_database)
    $BIN/graphhook-bench fill-events --brokers "$BROKERS" --topic-prefix "$prefix" --count "$COUNT" >/dev/null
    drain=$($BIN/graphhook-bench drain --brokers "$BROKERS" --topic-prefix "$prefix" --count "$COUNT")
    process=$(GRAPHHOOK_LOG__LEVEL=warn $vbin/graphhook-bench process --brokers "$BROKERS" --topic-prefix "$prefix" \
      --count "$COUNT" --database-url "$db" 2>>"$OUT/processor.log")
    # The raw-PostgreSQL baseline: the rows this run wrote, written again with
    # nothing but SQL (bench/src/raw_store.rs), on the same server, now.
    raw_db=$(fresh_database)
    raw=$($BIN/graphhook-bench raw-store --from "$db" --to "$raw_db" --brokers "$BROKERS" --topic-prefix "$prefix")
    stop_broker
    drop_database "$db"
    drop_database "$raw_db"
    line="round=$round variant=$name $(echo "$process" | tr ' ' '\n' | grep -E '^(events_per_s|seconds)=' | tr '\n' ' ')baseline_records_per_s=$(echo "$drain" | field records_per_s) raw_events_per_s=$(echo "$raw" | field raw_events_per_s) raw_outputs=$(echo "$raw" | field outputs)"
    echo "$line" | tee -a "$OUT/processor-throughput.txt"
  done
done
fi

if [[ $MEASURE == *latency* ]]; then
$BIN/graphhook-bench deliveries --mix realistic --count 20000 --secret "$SECRET" --out "$OUT/deliveries-realistic.tsv"
: >"$OUT/processor-latency.txt"
for round in $(seq "$ROUNDS"); do
 for variant in "${variants[@]}"; do
  name=${variant%%:*} vbin=${variant#*:}
  start_broker
  db=$(fresh_database)
  # Builds with operations listeners (health, readiness, metrics) serve them
  # apart; older builds served them on the public ports.
  ingest_ops=$HTTP_PORT processor_ops=$PROCESSOR_PORT ops_env=()
  if $vbin/graphhook --help | grep -q healthcheck; then
    ingest_ops=$INGEST_OPS_PORT processor_ops=$PROCESSOR_OPS_PORT
    ops_env=(GRAPHHOOK_INGEST__OPS_LISTEN=127.0.0.1:$ingest_ops GRAPHHOOK_PROCESSOR__OPS_LISTEN=127.0.0.1:$processor_ops
      GRAPHHOOK_LOG__SUCCESS_LEVEL=off GRAPHHOOK_KAFKA__REPLICATION_FACTOR=1 GRAPHHOOK_KAFKA__MIN_INSYNC_REPLICAS=1)
  fi
  env "${ops_env[@]}" GRAPHHOOK_INGEST__LISTEN=127.0.0.1:$HTTP_PORT GRAPHHOOK_PROCESSOR__LISTEN=127.0.0.1:$PROCESSOR_PORT \
  GRAPHHOOK_KAFKA__BROKERS=$BROKERS GRAPHHOOK_KAFKA__TOPIC_PREFIX="lat-$round-$RANDOM." \
  GRAPHHOOK_PROCESSOR__DATABASE_URL="$db" GRAPHHOOK_LOG__LEVEL=warn \
  GRAPHHOOK_APPS__BENCH__APP_ID=1 GRAPHHOOK_APPS__BENCH__SECRETS="[\"$SECRET\"]" \
    $vbin/graphhook run >>"$OUT/graphhook.log" 2>&1 &
  run_pid=$!
  pids+=($run_pid)
  for _ in $(seq 200); do
    curl -sf "http://127.0.0.1:$ingest_ops/readyz" >/dev/null && curl -sf "http://127.0.0.1:$processor_ops/readyz" >/dev/null && break
    sleep 0.1
  done
  # Warm-up (consumer group join, first connections), not measured.
  $BIN/graphhook-bench load --addr "127.0.0.1:$HTTP_PORT" --path /webhooks/bench \
    --deliveries "$OUT/deliveries-realistic.tsv" --rate "$RATE" --seconds 5 --connections 32 >/dev/null
  sleep 2
  GRAPHHOOK_BENCH_SAVE_METRICS="$OUT/metrics-before.txt" $BIN/graphhook-bench quantiles \
    --url "http://127.0.0.1:$processor_ops/metrics" --metric graphhook_processor_webhook_to_commit_seconds >/dev/null
  load=$($BIN/graphhook-bench load --addr "127.0.0.1:$HTTP_PORT" --path /webhooks/bench \
    --deliveries "$OUT/deliveries-realistic.tsv" --rate "$RATE" --seconds "$SECONDS_PER_RUN" --connections 32)
  sleep 3
  commit=$($BIN/graphhook-bench quantiles --url "http://127.0.0.1:$processor_ops/metrics" \
    --metric graphhook_processor_webhook_to_commit_seconds --before "$OUT/metrics-before.txt")
  kill -TERM "$run_pid"; wait "$run_pid" 2>/dev/null || true
  stop_broker
  drop_database "$db"
  line="round=$round variant=$name commit_p50_ms=$(echo "$commit" | field p50_ms) commit_p99_ms=$(echo "$commit" | field p99_ms) events=$(echo "$commit" | field count) ingest_p50_ms=$(echo "$load" | field p50_ms) ingest_p99_ms=$(echo "$load" | field p99_ms) achieved_rate=$(echo "$load" | field achieved_rate)"
  echo "$line" | tee -a "$OUT/processor-latency.txt"
 done
done
fi

of() { grep "variant=$1 " "$2" | field "$3" | median; }
echo
echo "Medians of $ROUNDS rounds, $(nproc) cores shared by tansu, PostgreSQL, graphhook and the load generator"
for variant in "${variants[@]}"; do
  name=${variant%%:*}
  echo
  if [[ $MEASURE == *throughput* ]]; then
    events_per_s=$(of "$name" "$OUT/processor-throughput.txt" events_per_s)
    baseline=$(of "$name" "$OUT/processor-throughput.txt" baseline_records_per_s)
    ratio=$(awk -v e="$events_per_s" -v b="$baseline" 'BEGIN {printf "%.3f", e/b}')
    raw=$(of "$name" "$OUT/processor-throughput.txt" raw_events_per_s)
    # The ratio to raw PostgreSQL is taken round by round (same round, same
    # machine state), then its median.
    raw_ratio=$(grep "variant=$name " "$OUT/processor-throughput.txt" | awk '{
      for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      if (v["raw_events_per_s"] > 0) printf "%.3f\n", v["events_per_s"] / v["raw_events_per_s"] }' | median)
    echo "[$name] throughput, $COUNT events of the realistic mix: processor $events_per_s events/s committed and acknowledged; bare consumer $baseline records/s (ratio $ratio); the same rows written raw to PostgreSQL $raw events/s (processor/raw, median of rounds: $raw_ratio)"
  fi
  if [[ $MEASURE == *latency* ]]; then
    echo "[$name] latency at $RATE deliveries/s: webhook-to-commit p50 $(of "$name" "$OUT/processor-latency.txt" commit_p50_ms) ms, p99 $(of "$name" "$OUT/processor-latency.txt" commit_p99_ms) ms; ingest response p50 $(of "$name" "$OUT/processor-latency.txt" ingest_p50_ms) ms, p99 $(of "$name" "$OUT/processor-latency.txt" ingest_p99_ms) ms; achieved $(of "$name" "$OUT/processor-latency.txt" achieved_rate)/s"
  fi
done
