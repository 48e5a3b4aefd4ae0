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
#   processor-kills: EVENTS events of the realistic mix are written at
#     EVENT_RATE/s in groups of BURST (several records per record batch) while
#     two `graphhook process` replicas of one group apply them on PostgreSQL in
#     batches of PROCESSOR_BATCH records (37: so that offsets are often
#     committed inside a record batch, where tansu 0.6.0 skips records; the
#     processors' gap warnings are counted as gaps_seen);
#     PROCESSOR_KILLS times, at random moments (1 to 3 s after the last
#     restart), one of them is `kill -9`ed and restarted RESTART_AFTER seconds
#     later. On tansu that is 9 s: tansu 0.6.0 gives a member that joins while a
#     killed member's session (6 s) is still open no partitions, and the killed
#     member's partitions then stay unassigned (docs/reliability.md). With
#     BROKER=mock both processor scenarios run on librdkafka's mock cluster
#     instead (a second broker implementation; RESTART_AFTER defaults to 1 s).
#   database-outage: one replica applies EVENTS events (at DB_EVENT_RATE/s) while its
#     PostgreSQL connections are terminated DB_KILLS times (pg_terminate_backend),
#     then the database refuses connections for OUTAGE seconds (as while it
#     restarts): readiness must answer 503 meanwhile and the processor resume
#     by itself.
#   Both processor scenarios then check against a reference: the same events
#     applied by one uninterrupted processor into a fresh database. Nothing
#     unapplied, the database's rows equal the reference's, the output records'
#     ids equal the reference's (repeats counted), offsets caught up.
#
#   bash bench/chaos.sh                 # SCENARIOS="ingest-kills broker-kills processor-kills database-outage"
#                                       # RATE=500 KILLS=10 BROKER_KILLS=3 OUTAGE=5
#                                       # EVENTS=50000 EVENT_RATE=200 BURST=500 PROCESSOR_BATCH=37 PROCESSOR_KILLS=20
#                                       # RESTART_AFTER=9 DB_EVENT_RATE=1000 DB_KILLS=5
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIOS=${SCENARIOS:-"ingest-kills broker-kills processor-kills database-outage"}
RATE=${RATE:-500}
KILLS=${KILLS:-10}
BROKER_KILLS=${BROKER_KILLS:-3}
OUTAGE=${OUTAGE:-5}
EVENTS=${EVENTS:-50000}
EVENT_RATE=${EVENT_RATE:-200}
BURST=${BURST:-500}
PROCESSOR_BATCH=${PROCESSOR_BATCH:-37}
BROKER=${BROKER:-tansu}
RESTART_AFTER=${RESTART_AFTER:-$([ "$BROKER" = mock ] && echo 1 || echo 9)}
DB_EVENT_RATE=${DB_EVENT_RATE:-1000}
PROCESSOR_KILLS=${PROCESSOR_KILLS:-20}
DB_KILLS=${DB_KILLS:-5}
PG_ADMIN=${BENCH_PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
command -v psql >/dev/null || { echo "psql is required" >&2; exit 1; }
. bench/lib.sh
. bench/chaos-processor.sh
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
  processor-kills)
    start_scenario_broker
    begin_stream "$EVENT_RATE"
    start_processor a 0; start_processor b 0
    for kill in $(seq "$PROCESSOR_KILLS"); do
      sleep $((1 + RANDOM % 3))
      victim=$([ $((RANDOM % 2)) = 0 ] && echo a || echo b)
      kill -9 "${processor_pid[$victim]}"; wait "${processor_pid[$victim]}" 2>/dev/null || true
      sleep "$RESTART_AFTER"
      start_processor "$victim" 0
    done
    end_stream || status=1
    stop_broker
    gaps=$(cat "$OUT"/chaos-processor-[ab].log | grep -c 'past offsets it did not serve' || true)
    echo "scenario=processor-kills broker=$BROKER kills=$PROCESSOR_KILLS restart_after_s=$RESTART_AFTER replicas=2 events=$EVENTS event_rate=$EVENT_RATE burst=$BURST batch=$PROCESSOR_BATCH gaps_seen=$gaps $line" | tee -a "$OUT/chaos.txt"
    ;;
  database-outage)
    start_scenario_broker
    begin_stream "$DB_EVENT_RATE"
    ops=$((OPS_PORT + 1))
    start_processor a "$ops"
    for kill in $(seq "$DB_KILLS"); do
      sleep $((1 + RANDOM % 3))
      terminate_connections
    done
    sleep 2
    refuse_connections true
    terminate_connections
    sleep 2
    # Readiness answers while the database refuses: 503.
    ready_during=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ops/readyz")
    sleep $((OUTAGE > 2 ? OUTAGE - 2 : 0))
    refuse_connections false
    # Ready again by itself, without a restart: seconds until /readyz says 200.
    back=$SECONDS ready_after=0
    while [ $((SECONDS - back)) -lt 60 ]; do
      ready_after=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ops/readyz")
      [ "$ready_after" = 200 ] && break
      sleep 0.5
    done
    ready_in=$((SECONDS - back))
    end_stream || status=1
    stop_broker
    echo "scenario=database-outage broker=$BROKER terminations=$DB_KILLS outage_s=$OUTAGE events=$EVENTS event_rate=$DB_EVENT_RATE readyz_during_outage=$ready_during readyz_after=$ready_after ready_again_within_s=$ready_in $line" | tee -a "$OUT/chaos.txt"
    [ "$ready_during" = 503 ] && [ "$ready_after" = 200 ] || status=1
    ;;
  *) echo "unknown scenario $scenario" >&2; exit 2 ;;
  esac
done
exit $status
