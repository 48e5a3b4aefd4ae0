#!/usr/bin/env bash
# Publishing benchmark: a simulated day of COUNT publications (55% images of 2 to
# 9 s of processing, 35% reels of 30 s to 10 minutes with one in ten up to 10 more,
# 10% stories of 5 to 60 s; 3% of containers fail, two thirds transiently; 1% of
# publishes lose their answer, 1% answer "not ready" once) over ACCOUNTS accounts,
# against the fake Graph API (graphhook_processor::testing::fake_graph) with time
# scaled down: the clock jumps to the next thing due. The tracker, token manager
# and call budget run as `graphhook process` runs them, on PostgreSQL.
#
# Printed: Graph API calls per publication beside a fixed 2-second poller fed the
# same containers (created, read every 2 s until done, published), freshness from
# Meta's FINISHED to graphhook's `ready` record in simulated time, and double
# publishes (media_publish of a container already published). The day is the same
# every run (a fixed seed); only the wall time varies.
#
#   bash bench/publishing.sh      # COUNT=10000 ACCOUNTS=250
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-10000}
ACCOUNTS=${ACCOUNTS:-250}
PG_ADMIN=${BENCH_PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
OUT=bench/out
mkdir -p "$OUT"
command -v psql >/dev/null || { echo "psql is required" >&2; exit 1; }
cargo build --release -q -p graphhook-bench
name="graphhook_bench_pub_$RANDOM$RANDOM"
psql -q "$PG_ADMIN" -c "CREATE DATABASE $name" >/dev/null
trap 'psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null' EXIT
RUST_LOG=off target/release/graphhook-bench publishing --database-url "${PG_ADMIN%/*}/$name" \
  --count "$COUNT" --accounts "$ACCOUNTS" | tee "$OUT/publishing.txt"
