#!/usr/bin/env bash
# At-least-once under kill -9: events of the realistic mix arrive at RATE/s (COUNT in
# all, 6 partitions) while `graphhook process` on PostgreSQL applies them; the
# processor is killed (SIGKILL) at about 30% and 60% applied, and restarted 9 s
# later each time (session.timeout.ms 6000: the dead member's session has expired,
# so the new one gets every partition, see tansu's known flaw in DEVELOPERS.md).
# A run passes when every record of events.v1 ends applied.
#
# RATE=0 is the multi-record-batch mode: events are written as fast as the broker
# takes them, so the producer packs many records into each record batch and a
# killed processor's last commit lands inside a batch. That is the case where
# tansu 0.6.0 serves a restarted consumer the next batch (bench/broker-probe.sh)
# and the processor must see the gap and re-read it. At 250/s each batch holds
# one record and no commit lands inside one.
#
# BROKER=tansu runs against tansu (memory storage); BROKER=mock against librdkafka's
# mock cluster hosted by a process of its own (`graphhook-bench mock-broker`), which
# outlives the killed processor: the same loop on a second broker implementation
# tells a broker's loss from graphhook's.
#
# For each run it prints the applied count, the records of events.v1 that were
# never applied (as partition:first-last offset runs), and whether the group's
# committed offsets lie beyond the broker's high watermarks.
#
# PROCESSOR_BIN runs another build of `graphhook` as the processor (e.g. an
# earlier revision's, to compare); the tools always come from this tree.
#
#   BROKER=tansu RUNS=7 bash bench/kill-loop.sh      # COUNT=5000 RATE=250
#   BROKER=tansu RATE=0 RUNS=10 bash bench/kill-loop.sh
#   BROKER=mock RATE=0 RUNS=10 bash bench/kill-loop.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BROKER=${BROKER:-tansu}
RUNS=${RUNS:-7}
COUNT=${COUNT:-5000}
RATE=${RATE:-250}
KAFKA_PORT=${BENCH_KAFKA_PORT:-19092}
PG_ADMIN=${BENCH_PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
OUT=bench/out
BROKERS=127.0.0.1:$KAFKA_PORT
mkdir -p "$OUT"

command -v psql >/dev/null || { echo "psql is required" >&2; exit 1; }
cargo build --release -q -p graphhook -p graphhook-bench
BIN=target/release
PROCESSOR_BIN=${PROCESSOR_BIN:-$BIN/graphhook}
# librdkafka properties go in a file: their names hold dots.
cat >"$OUT/kill-loop.toml" <<'TOML'
[kafka.client]
"session.timeout.ms" = "6000"
"heartbeat.interval.ms" = "500"
TOML

. bench/lib.sh

applied() { psql -At "$db" -c "SELECT count(*) FROM processed_events WHERE event_id NOT LIKE 'dlq:%'" 2>/dev/null || echo 0; }

start_processor() {
  GRAPHHOOK_KAFKA__BROKERS=$BROKERS GRAPHHOOK_KAFKA__TOPIC_PREFIX=$prefix \
  GRAPHHOOK_PROCESSOR__DATABASE_URL=$db GRAPHHOOK_PROCESSOR__GROUP_ID=$group \
  GRAPHHOOK_PROCESSOR__LISTEN=127.0.0.1:0 GRAPHHOOK_PROCESSOR__OPS_LISTEN=127.0.0.1:0 GRAPHHOOK_LOG__LEVEL=warn GRAPHHOOK_KAFKA__CREATE_TOPICS=$create \
    "$PROCESSOR_BIN" --config "$OUT/kill-loop.toml" process >>"$OUT/kill-loop-processor.log" 2>&1 &
  processor_pid=$!
  pids+=($processor_pid)
}

# Waits until $1 events are applied (at most $2 seconds).
wait_applied() {
  local deadline=$((SECONDS + $2))
  until [ "$(applied)" -ge "$1" ]; do
    [ $SECONDS -lt $deadline ] || return 0
    sleep 0.2
  done
}

# Waits until every event is applied, or nothing changed for $1 seconds.
wait_settled() {
  local last=-1 since=$SECONDS now
  while :; do
    now=$(applied)
    [ "$now" -ge "$COUNT" ] && return
    if [ "$now" != "$last" ]; then last=$now; since=$SECONDS; fi
    [ $((SECONDS - since)) -lt "$1" ] || return 0
    sleep 0.5
  done
}

result="$OUT/kill-loop-$BROKER${LABEL:+-$LABEL}.txt"
: >"$result"
for run in $(seq "$RUNS"); do
  prefix="kill-$run-$RANDOM."
  group="kill-$run-$RANDOM"
  if [ "$BROKER" = mock ]; then start_mock "$prefix"; create=false; else start_broker; create=true; fi
  db=$(fresh_database)
  $BIN/graphhook-bench fill-events --brokers "$BROKERS" --topic-prefix "$prefix" \
    --count "$COUNT" --rate "$RATE" $([ "$create" = false ] && echo --no-create) >/dev/null 2>>"$OUT/kill-loop-fill.log" &
  fill_pid=$!
  pids+=($fill_pid)
  start_processor
  wait_applied $((COUNT * 3 / 10)) 120
  at_first=$(applied); { kill -9 "$processor_pid"; wait "$processor_pid"; } 2>/dev/null || true; sleep 9; start_processor
  wait_applied $((COUNT * 6 / 10)) 120
  at_second=$(applied); { kill -9 "$processor_pid"; wait "$processor_pid"; } 2>/dev/null || true; sleep 9; start_processor
  wait "$fill_pid"
  wait_settled 30
  final=$(applied)
  offsets=$($BIN/graphhook-bench offsets --brokers "$BROKERS" --topic-prefix "$prefix" --group "$group")
  missing=$($BIN/graphhook-bench missing --brokers "$BROKERS" --topic-prefix "$prefix" --database-url "$db")
  kill "$processor_pid" 2>/dev/null || true; wait "$processor_pid" 2>/dev/null || true
  stop_broker
  drop_database "$db"
  beyond=$(echo "$offsets" | grep -c 'beyond_log_end=true' || true)
  line="run=$run broker=$BROKER killed_at=$at_first,$at_second applied=$final/$COUNT $missing partitions_committed_beyond_log_end=$beyond"
  echo "$line" | tee -a "$result"
  if [ "$beyond" -gt 0 ] || [ "$final" -lt "$COUNT" ]; then echo "$offsets" | sed 's/^/  /' | tee -a "$result"; fi
done

lost=$(grep -c '^run=.* missing=[1-9]' "$result" || true)
echo
echo "$BROKER${LABEL:+ ($LABEL)}: $lost of $RUNS runs left events in the log unapplied"
