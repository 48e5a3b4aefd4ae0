# The processor scenarios of bench/chaos.sh (sourced by it, after bench/lib.sh):
# a stream of events, replicas of `graphhook process` started and killed by the
# scenario, and the checks against an uninterrupted reference run.

# librdkafka properties go in a file: their names hold dots. A killed member's
# partitions go to the others once its session expires.
cat >"$OUT/chaos-processor.toml" <<'TOML'
[kafka.client]
"session.timeout.ms" = "6000"
"heartbeat.interval.ms" = "500"
TOML

declare -A processor_pid

# Starts (or restarts) replica $1 of the scenario's group; $2 is its operations
# port (0: any). $3, $4 and $5 (the topic prefix, database and group) default to
# the scenario's.
start_processor() {
  GRAPHHOOK_KAFKA__BROKERS=$BROKERS GRAPHHOOK_KAFKA__TOPIC_PREFIX=${3:-$prefix} \
    GRAPHHOOK_KAFKA__CREATE_TOPICS=$([ "$BROKER" = mock ] && echo false || echo true) \
    GRAPHHOOK_PROCESSOR__DATABASE_URL=${4:-$db} GRAPHHOOK_PROCESSOR__GROUP_ID=${5:-$group} \
    GRAPHHOOK_PROCESSOR__LISTEN=127.0.0.1:0 GRAPHHOOK_PROCESSOR__OPS_LISTEN=127.0.0.1:$2 \
    GRAPHHOOK_PROCESSOR__RETRY_INITIAL_MS=200 GRAPHHOOK_PROCESSOR__BATCH_SIZE=$PROCESSOR_BATCH \
    GRAPHHOOK_LOG__LEVEL=warn \
    "$BIN/graphhook" --config "$OUT/chaos-processor.toml" process >>"$OUT/chaos-processor-$1.log" 2>&1 &
  processor_pid[$1]=$!
  pids+=($!)
}

# The scenario's broker: tansu (memory storage), or with BROKER=mock librdkafka's
# mock cluster; the reference's topics (ref_prefix) are made too.
start_scenario_broker() {
  ref_prefix="ref-$RANDOM."
  if [ "$BROKER" = mock ]; then start_mock "$prefix" "$ref_prefix"; else start_broker; fi
}

no_create() { [ "$BROKER" = mock ] && echo --no-create || true; }

stop_processors() {
  for name in "${!processor_pid[@]}"; do
    kill "${processor_pid[$name]}" 2>/dev/null || true
    wait "${processor_pid[$name]}" 2>/dev/null || true
  done
  processor_pid=()
}

applied() { # database
  psql -At "$1" -c "SELECT count(*) FROM processed_events WHERE event_id NOT LIKE 'dlq:%'" 2>/dev/null || echo -1
}

# A fresh database and group, and EVENTS events written at $1 per second in
# groups of BURST (several records per record batch) in the background
# (fill_pid).
begin_stream() {
  db=$(fresh_database)
  group="chaos-$RANDOM$RANDOM"
  $BIN/graphhook-bench fill-events --brokers "$BROKERS" --topic-prefix "$prefix" \
    --count "$EVENTS" --rate "$1" --burst "$BURST" $(no_create) >/dev/null 2>>"$OUT/chaos-fill.log" &
  fill_pid=$!
  pids+=($fill_pid)
}

# Terminates every connection to the scenario's database.
terminate_connections() {
  psql -qAt "$PG_ADMIN" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${db##*/}'" >/dev/null
}

# Makes the scenario's database refuse new connections (true) or take them (false).
refuse_connections() {
  local allow=true
  [ "$1" = true ] && allow=false
  psql -q "$PG_ADMIN" -c "ALTER DATABASE ${db##*/} ALLOW_CONNECTIONS $allow" >/dev/null
}

# The rows whose content does not depend on when they were written, sorted.
dump_state() { # database
  psql -At "$1" <<'SQL'
SELECT 'event', event_id FROM processed_events ORDER BY 2;
SELECT 'account', app_id, account_id, state, reason, state_changed_at_ms FROM accounts ORDER BY 2, 3;
SELECT 'transition', app_id, account_id, from_state, to_state, reason, action, source_event_id, occurred_at_ms
  FROM account_transitions ORDER BY 2, 3, 9, 8;
SELECT 'cache', app_id, account_id, media_id, fresh, values_json IS NULL FROM metrics_cache ORDER BY 2, 3, 4;
SELECT 'post', app_id, page_id, post_id, item, status, status_at_ms FROM page_posts ORDER BY 2, 4;
SQL
}

# Waits (at most 300 s) until database $1 holds every event applied and its
# outbox is empty.
wait_applied_and_sent() {
  local deadline=$((SECONDS + 300))
  until [ "$(applied "$1")" -ge "$EVENTS" ] && [ "$(psql -At "$1" -c 'SELECT count(*) FROM outbox')" = 0 ]; do
    [ $SECONDS -lt $deadline ] || return 0
    sleep 0.5
  done
}

# Waits for the stream to be written and applied (at most 300 s beyond), stops the
# replicas, applies the same events without interruption into a reference
# database, and sets `line` to the comparison; fails when something is missing,
# differs or is not caught up.
end_stream() {
  wait "$fill_pid"
  wait_applied_and_sent "$db"
  local done_applied
  done_applied=$(applied "$db")
  stop_processors
  local missing offsets lagging
  missing=$($BIN/graphhook-bench missing --brokers "$BROKERS" --topic-prefix "$prefix" --database-url "$db")
  offsets=$($BIN/graphhook-bench offsets --brokers "$BROKERS" --topic-prefix "$prefix" --group "$group")
  lagging=$(echo "$offsets" | awk '{c=$2; h=$4; sub("committed=","",c); sub("high=","",h); if (c+0 < h+0) n++} END {print n+0}')
  # The reference: the same events, one processor, no interruption.
  local ref_db
  ref_db=$(fresh_database)
  $BIN/graphhook-bench fill-events --brokers "$BROKERS" --topic-prefix "$ref_prefix" --count "$EVENTS" $(no_create) >/dev/null
  start_processor reference 0 "$ref_prefix" "$ref_db" "ref-$group"
  wait_applied_and_sent "$ref_db"
  stop_processors
  dump_state "$db" >"$OUT/chaos-state.txt"
  dump_state "$ref_db" >"$OUT/chaos-state-reference.txt"
  $BIN/graphhook-bench record-ids --brokers "$BROKERS" --topic-prefix "$prefix" >"$OUT/chaos-records.txt"
  $BIN/graphhook-bench record-ids --brokers "$BROKERS" --topic-prefix "$ref_prefix" >"$OUT/chaos-records-reference.txt"
  local state_diff records distinct ref_records ids_diff
  state_diff=$(diff "$OUT/chaos-state.txt" "$OUT/chaos-state-reference.txt" | grep -c '^[<>]' || true)
  records=$(wc -l <"$OUT/chaos-records.txt")
  distinct=$(sort -u "$OUT/chaos-records.txt" | wc -l)
  ref_records=$(wc -l <"$OUT/chaos-records-reference.txt")
  ids_diff=$(diff <(sort -u "$OUT/chaos-records.txt") <(sort -u "$OUT/chaos-records-reference.txt") | grep -c '^[<>]' || true)
  drop_database "$db"
  drop_database "$ref_db"
  line="settled=$done_applied/$EVENTS ${missing} state_rows=$(wc -l <"$OUT/chaos-state.txt") state_rows_differing=$state_diff"
  line+=" output_records=$records distinct=$distinct repeats=$((records - distinct)) reference_records=$ref_records"
  line+=" record_ids_differing=$ids_diff lagging_partitions=$lagging"
  echo "$offsets" >"$OUT/chaos-offsets.txt"
  case "$missing" in *" missing=0 "*) ;; *) return 1 ;; esac
  [ "$state_diff" = 0 ] && [ "$ids_diff" = 0 ] && [ "$lagging" = 0 ] && [ "$distinct" = "$ref_records" ]
}
