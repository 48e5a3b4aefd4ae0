#!/usr/bin/env bash
# The operator guide's worked example without containers, step by step, on this
# machine's PostgreSQL and a Kafka-protocol broker (KAFKA_BROKERS), then the
# README's "Run it" steps. CI runs it; it exits non-zero at the first step that
# does not do what the documents say.
#
#   KAFKA_BROKERS=127.0.0.1:9092 bash deploy/walkthrough.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

: "${KAFKA_BROKERS:?set KAFKA_BROKERS to a running broker}"
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
BIN=${GRAPHHOOK_BIN:-$ROOT/target/debug/graphhook}
[ -n "${GRAPHHOOK_BIN:-}" ] || cargo build -q -p graphhook
WORK=$(mktemp -d)
RUN_ID=walk$RANDOM$RANDOM
ROLE=gh_$RUN_ID
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $ROLE WITH (FORCE)" -c "DROP DATABASE IF EXISTS ${ROLE}_notowner WITH (FORCE)" -c "DROP ROLE IF EXISTS $ROLE" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAILED: $*" >&2; for f in "$WORK"/*.log; do echo "--- $f"; tail -20 "$f"; done >&2; exit 1; }
status() { curl -s -o /dev/null -w '%{http_code}' "$@" || true; }
wait_status() { # url expected seconds
  local deadline=$((SECONDS + $3))
  until [ "$(status "$1")" = "$2" ]; do
    [ $SECONDS -lt $deadline ] || fail "$1 never answered $2"
    sleep 0.2
  done
}
# Whether the input holds a line matching $1, read to its end: `grep -q` stops at
# the first match, and under pipefail a curl still writing into the closed pipe
# fails the check (the metrics of two processors, the match in the first).
contains() { grep -c -- "$1" >/dev/null; }
sign() { printf '%s' "$2" | openssl dgst -sha256 -hmac "$1" | awk '{print "sha256="$2}'; }

step "1. PostgreSQL: a role, and a database it owns (PostgreSQL 15 refuses a non-owner on public)"
PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
psql -q "$PG_ADMIN" -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'"
psql -q "$PG_ADMIN" -c "CREATE DATABASE ${ROLE}_notowner"
if GRAPHHOOK_PROCESSOR__DATABASE_URL="postgres://$ROLE:$PASSWORD@127.0.0.1:5432/${ROLE}_notowner" \
   GRAPHHOOK_LOG__LEVEL=off "$BIN" migrate >"$WORK/notowner.log" 2>&1; then
  if [ "$(psql -Atc 'SHOW server_version_num' "$PG_ADMIN")" -ge 150000 ]; then
    fail "migrate succeeded in a database the role does not own on PostgreSQL 15+"
  fi
else
  grep -q "permission denied" "$WORK/notowner.log" || fail "the refusal does not say permission denied"
  echo "as documented: $(grep -o 'permission denied[^"]*' "$WORK/notowner.log" | head -1)"
fi
psql -q "$PG_ADMIN" -c "CREATE DATABASE $ROLE OWNER $ROLE"

step "2. Secrets in files, configuration in GRAPHHOOK_ variables"
mkdir -m 700 "$WORK/secrets"
APP_SECRET=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
VERIFY=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
ADMIN=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$APP_SECRET" >"$WORK/secrets/app_secrets"
printf '%s\n' "$VERIFY" >"$WORK/secrets/verify_token"
printf '%s\n' "$ADMIN" >"$WORK/secrets/admin_token"
printf 'postgres://%s:%s@127.0.0.1:5432/%s\n' "$ROLE" "$PASSWORD" "$ROLE" >"$WORK/secrets/database_url"
head -c 32 /dev/urandom | base64 >"$WORK/secrets/token_key"
export GRAPHHOOK_KAFKA__BROKERS=$KAFKA_BROKERS
export GRAPHHOOK_KAFKA__TOPIC_PREFIX=$RUN_ID.
export GRAPHHOOK_KAFKA__REPLICATION_FACTOR=1 GRAPHHOOK_KAFKA__MIN_INSYNC_REPLICAS=1
export GRAPHHOOK_APPS__MAIN__APP_ID=1234567890
export GRAPHHOOK_APPS__MAIN__SECRETS_FILE=$WORK/secrets/app_secrets
export GRAPHHOOK_APPS__MAIN__VERIFY_TOKEN_FILE=$WORK/secrets/verify_token
export GRAPHHOOK_INGEST__PUBLIC_BASE_URL=https://hooks.example.com
export GRAPHHOOK_PROCESSOR__DATABASE_URL_FILE=$WORK/secrets/database_url
export GRAPHHOOK_PROCESSOR__ADMIN_TOKEN_FILE=$WORK/secrets/admin_token
export GRAPHHOOK_TOKENS__ACTIVE_KEY=k1 GRAPHHOOK_TOKENS__KEYS__K1_FILE=$WORK/secrets/token_key
export GRAPHHOOK_INGEST__DRAIN_SECS=2 GRAPHHOOK_PROCESSOR__DRAIN_SECS=1
export GRAPHHOOK_LOG__FORMAT=json
unset GRAPHHOOK_CONFIG RUST_LOG

step "3. check-config for each command"
for role in ingest process replay; do
  "$BIN" check-config --for "$role" >"$WORK/check-$role.txt" || fail "check-config --for $role"
  head -1 "$WORK/check-$role.txt"
  for secret in "$APP_SECRET" "$VERIFY" "$ADMIN" "$PASSWORD"; do
    ! grep -qF "$secret" "$WORK/check-$role.txt" || fail "check-config --for $role printed a secret"
  done
done
grep -q 'warning: kafka.replication_factor = 1' "$WORK/check-process.txt" || fail "no warning about one copy"
grep -q '^\[processor\]' "$WORK/check-process.txt" || fail "no [processor] section printed"
if GRAPHHOOK_KAFKA__BROKERS= "$BIN" check-config --for process >/dev/null 2>"$WORK/check-embedded.txt"; then
  fail "check-config --for process accepted no brokers"
fi
grep -q kafka.brokers "$WORK/check-embedded.txt" || fail "the refusal does not name kafka.brokers"
# A Kubernetes Service named graphhook injects GRAPHHOOK_PORT and friends into
# every pod: ignored, with one warning naming them.
GRAPHHOOK_PORT=tcp://10.0.0.7:8080 GRAPHHOOK_SERVICE_HOST=10.0.0.7 \
  "$BIN" check-config --for process >"$WORK/check-service-links.txt" ||
  fail "check-config stopped at GRAPHHOOK_PORT"
grep -q 'warning: ignored environment variables .*GRAPHHOOK_PORT' "$WORK/check-service-links.txt" ||
  fail "no warning about GRAPHHOOK_PORT"

step "4. graphhook migrate"
"$BIN" migrate | contains 'migrations applied (postgres)' || fail "migrate"

step "5. ingest and two processors, operations listeners on loopback"
GRAPHHOOK_INGEST__LISTEN=127.0.0.1:28080 GRAPHHOOK_INGEST__OPS_LISTEN=127.0.0.1:29080 \
  "$BIN" ingest >"$WORK/ingest.log" 2>&1 &
pids+=($!); INGEST=$!
for n in 1 2; do
  GRAPHHOOK_PROCESSOR__LISTEN=127.0.0.1:2808$n GRAPHHOOK_PROCESSOR__OPS_LISTEN=127.0.0.1:2908$n \
    "$BIN" process >"$WORK/process-$n.log" 2>&1 &
  pids+=($!); eval "PROCESS_$n=$!"
done

step "6. ready; Meta's handshake and a signed delivery on the public listener"
for port in 29080 29081 29082; do wait_status "http://127.0.0.1:$port/readyz" 200 60; done
challenge=$(curl -sf "http://127.0.0.1:28080/webhooks/main?hub.mode=subscribe&hub.verify_token=$VERIFY&hub.challenge=1158201444")
[ "$challenge" = 1158201444 ] || fail "handshake answered $challenge"
BODY='{"object":"instagram","entry":[{"id":"17841400000","time":1700000000,"changes":[{"field":"comments","value":{"id":"1","text":"Sch\u00f6n"}}]}]}'
[ "$(status -X POST http://127.0.0.1:28080/webhooks/main -H "X-Hub-Signature-256: $(sign "$APP_SECRET" "$BODY")" \
  -H 'Content-Type: application/json' --data-binary "$BODY")" = 200 ] || fail "signed delivery"
[ "$(status -X POST http://127.0.0.1:28080/webhooks/main -H "X-Hub-Signature-256: $(sign wrong "$BODY")" --data-binary "$BODY")" = 401 ] \
  || fail "a forged delivery was not refused"
[ "$(status http://127.0.0.1:28080/metrics)" = 404 ] || fail "ingest's public listener serves /metrics"
[ "$(status -H "Authorization: Bearer $ADMIN" http://127.0.0.1:28081/v1/apps/1234567890/accounts)" = 404 ] \
  || fail "the processor's public listener serves /v1"
[ "$(status http://127.0.0.1:28081/data-deletion/unknown)" = 404 ] || fail "data-deletion status page"

step "7. the admin API: the account the delivery named, registered and read back"
API=http://127.0.0.1:29081/v1/apps/1234567890/accounts
[ "$(status -X PUT -H "Authorization: bearer $ADMIN" -H 'Content-Type: application/json' \
  "$API/17841400000" -d '{"tenant":"acme"}')" = 200 ] || fail "register the account"
curl -sf -H "Authorization: Bearer $ADMIN" "$API/17841400000" | contains '"state":"active"' || fail "read the account"
curl -sf -H "Authorization: Bearer $ADMIN" "$API" | contains '"17841400000"' || fail "list the accounts"

step "8. metrics: alerting series from start, the delivery counted"
curl -sf http://127.0.0.1:29080/metrics | contains 'graphhook_signature_failures_total{app="main",reason="mismatch"} 1' \
  || fail "signature failure series"
deadline=$((SECONDS + 60))
until curl -sf http://127.0.0.1:29081/metrics http://127.0.0.1:29082/metrics \
  | contains 'graphhook_processor_events_total{field="comments",object="instagram",outcome="applied"} 1'; do
  [ $SECONDS -lt $deadline ] || fail "the delivery's event was never applied"
  sleep 0.5
done
curl -sf http://127.0.0.1:29081/metrics | contains 'graphhook_processor_dead_letters_total{cause="rejected",source_topic="'"$RUN_ID"'.events.v1"} 0' \
  || fail "dead-letter series not at 0 from start"

if command -v prometheus >/dev/null; then
  # A real scrape (Debian's Prometheus) of the three operations listeners, with
  # the alert rules loaded: every series a rule selects must be there, under the
  # job names the rules expect.
  cat >"$WORK/prometheus-scrape.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$ROOT/deploy/prometheus/alerts.yml"]
scrape_configs:
  - job_name: graphhook-ingest
    static_configs: [{targets: ["127.0.0.1:29080"]}]
  - job_name: graphhook-processor
    static_configs: [{targets: ["127.0.0.1:29081", "127.0.0.1:29082"]}]
EOF
  prometheus --config.file="$WORK/prometheus-scrape.yml" --storage.tsdb.path="$WORK/tsdb" \
    --web.listen-address=127.0.0.1:29090 >"$WORK/prometheus.log" 2>&1 &
  pids+=($!)
  wait_status http://127.0.0.1:29090/-/ready 200 30
  python3 deploy/scrape-check.py http://127.0.0.1:29090 deploy/prometheus/alerts.yml \
    --needs-traffic graphhook_graph_usage_ratio="set from Meta's usage headers: needs a Graph call" \
    || fail "a series the alert rules select is not scraped"
  rules=$(curl -sf http://127.0.0.1:29090/api/v1/rules) || fail "Prometheus's rules API"
  echo "$rules" | contains '"health":"ok"' || fail "Prometheus did not load the rules"
  ! echo "$rules" | contains '"health":"err' || fail "a rule fails to evaluate"
else
  echo "prometheus not installed: the scrape is not checked"
fi

step "9. SIGTERM: readiness drains first, then each process exits 0"
kill -TERM "$INGEST" "$PROCESS_1" "$PROCESS_2"
wait_status http://127.0.0.1:29080/readyz 503 2
[ "$(status -X POST http://127.0.0.1:28080/webhooks/main -H "X-Hub-Signature-256: $(sign "$APP_SECRET" "$BODY")" --data-binary "$BODY")" = 200 ] \
  || fail "a delivery during the drain was not served"
for pid in "$INGEST" "$PROCESS_1" "$PROCESS_2"; do
  wait "$pid" || fail "process $pid exited $?"
done
pids=()
grep -q '"message":"draining' "$WORK/ingest.log" || fail "ingest did not log its drain"
! grep -q '"level":"ERROR"' "$WORK"/ingest.log "$WORK"/process-*.log || fail "ERROR lines in the logs"
for secret in "$APP_SECRET" "$VERIFY" "$ADMIN" "$PASSWORD"; do
  ! grep -qF "$secret" "$WORK"/*.log || fail "a secret was logged"
done

step "10. the compose file and the Prometheus files"
if command -v docker-compose >/dev/null; then
  (cd "$ROOT" && bash deploy/make-secrets.sh >/dev/null && docker-compose -f docker-compose.yml config -q) \
    || fail "docker-compose config"
  echo "docker-compose config: valid"
else
  echo "docker-compose not installed: compose file not checked"
fi
if command -v promtool >/dev/null; then
  promtool check rules deploy/prometheus/alerts.yml || fail "promtool check rules"
  promtool test rules deploy/prometheus/alerts.test.yml || fail "promtool test rules"
  cp deploy/prometheus/prometheus.yml deploy/prometheus/alerts.yml "$WORK/"
  sed -i "s|/etc/prometheus/alerts.yml|$WORK/alerts.yml|" "$WORK/prometheus.yml"
  promtool check config "$WORK/prometheus.yml" || fail "promtool check config"
else
  echo "promtool not installed: Prometheus files not checked"
fi

step "11. the README's 'Run it' steps (embedded mode), as written"
unset $(env | sed -n 's/^\(GRAPHHOOK_[A-Z0-9_]*\)=.*/\1/p')
mkdir "$WORK/readme" && cd "$WORK/readme"
"$BIN" --config "$ROOT/config/example.toml" run >"$WORK/readme.log" 2>&1 &
pids+=($!); RUN=$!
wait_status http://127.0.0.1:9080/readyz 200 60
[ "$(curl -s 'http://127.0.0.1:8080/webhooks/example?hub.mode=subscribe&hub.verify_token=example-verify-token&hub.challenge=1158201444')" = 1158201444 ] \
  || fail "README handshake"
BODY='{"object":"instagram","entry":[{"id":"17841400000","time":1700000000,"changes":[{"field":"comments","value":{"id":"1","text":"Sch\u00f6n"}}]}]}'
SIG=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac example-app-secret | awk '{print $2}')
[ "$(status -X POST http://127.0.0.1:8080/webhooks/example -H "X-Hub-Signature-256: sha256=$SIG" \
  -H 'Content-Type: application/json' --data-binary "$BODY")" = 200 ] || fail "README delivery"
wait_status http://127.0.0.1:9081/readyz 200 60
deadline=$((SECONDS + 60))
until curl -s http://127.0.0.1:9081/metrics | contains 'graphhook_processor_events_total{.*} 1'; do
  [ $SECONDS -lt $deadline ] || fail "README: the event was never applied"
  sleep 0.5
done
curl -sf -H 'Authorization: Bearer example-Admin-token-0123456789-change-me' \
  http://127.0.0.1:9081/v1/apps/1234567890/accounts/17841400000 | contains '"account_id":"17841400000"' \
  || fail "README admin API"
curl -s http://127.0.0.1:9080/metrics | contains 'graphhook_deliveries_total{app="example",endpoint="webhook"} 1' \
  || fail "README ingest metrics"
kill -INT "$RUN"
wait "$RUN" || fail "graphhook run exited $?"
pids=()
echo
echo "walkthrough: every step did what the documents say"
