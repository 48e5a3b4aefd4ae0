# Shared by the benchmark scripts: ports and paths, a fresh tansu broker per
# measurement, cleanup of everything started, medians and key=value fields. A
# script may set any of them (BROKERS is host:port) before sourcing it.

KAFKA_PORT=${KAFKA_PORT:-${BENCH_KAFKA_PORT:-19092}}
HTTP_PORT=${HTTP_PORT:-${BENCH_HTTP_PORT:-18080}}
OPS_PORT=${OPS_PORT:-${BENCH_OPS_PORT:-19080}}
OUT=${OUT:-bench/out}
SECRET=${SECRET:-bench-secret}
BROKERS=${BROKERS:-127.0.0.1:$KAFKA_PORT}
mkdir -p "$OUT"

command -v tansu >/dev/null || { echo "tansu is required (cargo install tansu --locked --features dynostore,libsql)" >&2; exit 1; }

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# A fresh broker for every measurement: tansu's memory engine grows with what it
# holds, and later runs must not pay for earlier ones.
start_broker() {
  tansu broker --listener-url "tcp://$BROKERS" --advertised-listener-url "tcp://$BROKERS" \
    --storage-engine memory://tansu/ >>"$OUT/tansu.log" 2>&1 &
  broker_pid=$!
  pids+=($broker_pid)
  for _ in $(seq 50); do (echo >"/dev/tcp/${BROKERS%:*}/${BROKERS#*:}") 2>/dev/null && return; sleep 0.1; done
  echo "tansu did not start" >&2; exit 1
}
stop_broker() { kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; }

# librdkafka's mock cluster in a process of its own (it outlives the processes
# a scenario kills), with the topics of each prefix given created; sets BROKERS
# and broker_pid (stop_broker stops it). Needs BIN.
start_mock() {
  : >"$OUT/mock-broker.txt"
  local args=()
  for prefix_arg in "$@"; do args+=(--topic-prefix "$prefix_arg"); done
  $BIN/graphhook-bench mock-broker "${args[@]}" >"$OUT/mock-broker.txt" 2>>"$OUT/mock-broker.log" &
  broker_pid=$!
  pids+=($broker_pid)
  for _ in $(seq 100); do
    BROKERS=$(sed -n 's/^bootstrap=//p' "$OUT/mock-broker.txt")
    [ -n "$BROKERS" ] && return
    sleep 0.1
  done
  echo "the mock broker did not start" >&2; exit 1
}

# A new, empty PostgreSQL database (its URL), and dropping one; PG_ADMIN is the
# administrative connection.
fresh_database() {
  local name="graphhook_bench_$RANDOM$RANDOM"
  psql -q "$PG_ADMIN" -c "CREATE DATABASE $name" >/dev/null
  echo "${PG_ADMIN%/*}/$name"
}
drop_database() { psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS ${1##*/} WITH (FORCE)" >/dev/null; }

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

# `graphhook ingest` of this tree (BIN) on the broker, for the app `bench` with
# SECRET; sets ingest_pid once it is live. Args: topic prefix, log file.
start_ingest_of_this_tree() {
  GRAPHHOOK_INGEST__LISTEN=127.0.0.1:$HTTP_PORT GRAPHHOOK_INGEST__OPS_LISTEN=127.0.0.1:$OPS_PORT \
    GRAPHHOOK_KAFKA__BROKERS=$BROKERS GRAPHHOOK_KAFKA__TOPIC_PREFIX="$1" GRAPHHOOK_KAFKA__REPLICATION_FACTOR=1 \
    GRAPHHOOK_KAFKA__MIN_INSYNC_REPLICAS=1 GRAPHHOOK_LOG__LEVEL=warn GRAPHHOOK_LOG__SUCCESS_LEVEL=off \
    GRAPHHOOK_APPS__BENCH__APP_ID=1 GRAPHHOOK_APPS__BENCH__SECRETS="[\"$SECRET\"]" \
    "$BIN/graphhook" ingest >>"$2" 2>&1 &
  ingest_pid=$!
  pids+=($ingest_pid)
  for _ in $(seq 150); do
    curl -sf "http://127.0.0.1:$OPS_PORT/healthz" >/dev/null && return
    sleep 0.1
  done
  echo "ingest did not start" >&2; exit 1
}
