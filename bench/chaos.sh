#!/usr/bin/env bash
# The chaos suite (docs/reliability.md), loopback only, every loop bounded in
# count and time. A witness (`graphhook-bench witness`) sends signed deliveries,
# each with an id of its own, at RATE/s and writes down every answer; at the end
# `graphhook-bench stored` reads deliveries.v1 to its end and fails if any
# delivery answered 200 is missing.
#
#   ingest-kills: `graphhook ingest` is `kill -9`ed KILLS times at random moments
#     (every 3 to 7 s) under load and restarted a second later, on one tansu.
#   broker-kills: tansu on SQLite storage is `kill -9`ed BROKER_KILLS times under
#     load and restarted on the same file after OUTAGE seconds; during the outage
#     ingest must answer 503 with Retry-After, none slower than the produce
#     deadline (3 s) plus 2 s.
#
#   bash bench/chaos.sh                 # SCENARIOS="ingest-kills broker-kills" RATE=500 KILLS=10 BROKER_KILLS=3 OUTAGE=5
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIOS=${SCENARIOS:-"ingest-kills broker-kills"}
RATE=${RATE:-500}
KILLS=${KILLS:-10}
BROKER_KILLS=${BROKER_KILLS:-3}
OUTAGE=${OUTAGE:-5}
. bench/lib.sh
cargo build --release -q -p graphhook -p graphhook-bench
BIN=target/release
: >"$OUT/chaos.txt"

start_ingest() { start_ingest_of_this_tree "$1" "$OUT/graphhook-chaos.log"; }

start_sqlite_broker() { # dir, relative to the repository (tansu 0.6.0 reads the
  # URL's path relative to its working directory)
  tansu broker --listener-url "tcp://$BROKERS" --advertised-listener-url "tcp://$BROKERS" \
    --storage-engine "sqlite:///$1/tansu.db" >>"$OUT/tansu-chaos.log" 2>&1 &
  broker_pid=$!
  pids+=($broker_pid)
  for _ in $(seq 100); do (echo >"/dev/tcp/${BROKERS%:*}/${BROKERS#*:}") 2>/dev/null && return; sleep 0.1; done
  echo "tansu did not start" >&2; exit 1
}

witness() { # seconds answers-file
  $BIN/graphhook-bench witness --addr "127.0.0.1:$HTTP_PORT" --secret "$SECRET" --rate "$RATE" \
    --seconds "$1" --out "$2" >/dev/null
}

status=0
for scenario in $SCENARIOS; do
  prefix="chaos-$scenario-$RANDOM."
  case $scenario in
  ingest-kills)
    start_broker
    start_ingest "$prefix"
    seconds=$((KILLS * 6 + 10))
    witness "$seconds" "$OUT/chaos-answers.txt" &
    witness_pid=$!
    for kill in $(seq "$KILLS"); do
      sleep $((3 + RANDOM % 5))
      kill -9 "$ingest_pid"; wait "$ingest_pid" 2>/dev/null || true
      sleep 1
      start_ingest "$prefix"
    done
    wait "$witness_pid"
    line=$($BIN/graphhook-bench stored --brokers "$BROKERS" --topic-prefix "$prefix" \
      --answers "$OUT/chaos-answers.txt") || status=1
    kill -9 "$ingest_pid" 2>/dev/null || true; wait "$ingest_pid" 2>/dev/null || true
    stop_broker
    echo "scenario=ingest-kills kills=$KILLS rate=$RATE ${line#stored }" | tee -a "$OUT/chaos.txt"
    ;;
  broker-kills)
    dir=$OUT/chaos-tansu-$RANDOM
    mkdir -p "$dir"
    start_sqlite_broker "$dir"
    start_ingest "$prefix"
    seconds=$((BROKER_KILLS * (OUTAGE + 8) + 8))
    witness "$seconds" "$OUT/chaos-answers.txt" &
    witness_pid=$!
    for kill in $(seq "$BROKER_KILLS"); do
      sleep $((4 + RANDOM % 4))
      kill -9 "$broker_pid"; wait "$broker_pid" 2>/dev/null || true
      sleep "$OUTAGE"
      start_sqlite_broker "$dir"
    done
    wait "$witness_pid"
    # Read back from a broker restarted once more on the same file, ingest stopped:
    # tansu 0.6.0's SQLite storage can fail for good after a restart (below).
    kill -9 "$ingest_pid" 2>/dev/null || true; wait "$ingest_pid" 2>/dev/null || true
    kill -9 "$broker_pid"; wait "$broker_pid" 2>/dev/null || true
    start_sqlite_broker "$dir"
    line=$($BIN/graphhook-bench stored --brokers "$BROKERS" --topic-prefix "$prefix" \
      --answers "$OUT/chaos-answers.txt") || status=1
    stop_broker
    panics=$(grep -c "panicked" "$OUT/tansu-chaos.log" || true)
    line="$line tansu_panics=$panics"
    [ "$status" = 0 ] && rm -rf "$dir"
    echo "scenario=broker-kills kills=$BROKER_KILLS outage_s=$OUTAGE rate=$RATE ${line#stored }" | tee -a "$OUT/chaos.txt"
    case $line in *"refused_503_without_retry_after=0 "*"slower_than_5000ms=0 "*) ;; *) status=1 ;; esac
    : >"$OUT/tansu-chaos.log"
    ;;
  *) echo "unknown scenario $scenario" >&2; exit 2 ;;
  esac
done
exit $status
