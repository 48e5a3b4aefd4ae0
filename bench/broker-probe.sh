#!/usr/bin/env bash
# A minimal reproduction of the broker flaws graphhook's processor guards against
# (bench/src/broker_probe.rs), on a fresh tansu (memory storage) and on
# librdkafka's mock cluster: three record batches of ten records, then readers
# assigned inside and at the start of batches, and the high watermark against
# the log end. tansu 0.6.0 prints verdict=skips (a fetch from offset 3 is served
# from 10; the high watermark is 21 for a log of 30); the mock cluster prints
# verdict=sound. A tansu that prints verdict=sound has been fixed.
#
#   bash bench/broker-probe.sh
set -euo pipefail
cd "$(dirname "$0")/.."

KAFKA_PORT=${BENCH_KAFKA_PORT:-19092}
OUT=bench/out
BROKERS=127.0.0.1:$KAFKA_PORT
mkdir -p "$OUT"
cargo build --release -q -p graphhook-bench
BIN=target/release
. bench/lib.sh

echo "tansu $(tansu --version 2>/dev/null | head -1):"
start_broker
$BIN/graphhook-bench broker-probe --brokers "$BROKERS"
stop_broker

echo
echo "librdkafka's mock cluster:"
$BIN/graphhook-bench mock-broker --topic-prefix probe. >"$OUT/mock-broker.txt" 2>>"$OUT/mock-broker.log" &
pids+=($!)
for _ in $(seq 50); do grep -q '^bootstrap=' "$OUT/mock-broker.txt" 2>/dev/null && break; sleep 0.1; done
$BIN/graphhook-bench broker-probe --brokers "$(field bootstrap <"$OUT/mock-broker.txt")" --topic probe.events.v1
