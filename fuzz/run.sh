#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds each (default 30: CI's short run;
# the reports' runs use 600), seeded by seed.py, on stable Rust without a
# sanitizer (the targets are safe Rust: coverage guidance and debug assertions,
# overflow checks included, are what find bugs here). A crash fails the run and
# leaves its input under fuzz/artifacts/<target>/; replay it with
#   cargo fuzz run -s none -a <target> fuzz/artifacts/<target>/<file>
# and keep it as a regression test (fuzz/README.md).
#
#   bash fuzz/run.sh            # 30 s per target
#   SECONDS_PER_TARGET=600 JOBS=2 bash fuzz/run.sh
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$HOME/.cargo/bin:$PATH"
SECONDS_PER_TARGET=${SECONDS_PER_TARGET:-${1:-30}}
JOBS=${JOBS:-1}
TARGETS=${TARGETS:-"signature signed_request envelope publish_request graph_answer"}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
python3 seed.py
cargo fuzz build -s none -a
status=0
run() {
  local target=$1
  mkdir -p "artifacts/$target"
  if cargo fuzz run -s none -a "$target" "corpus/$target" -- \
      -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
      -artifact_prefix="artifacts/$target/" >"artifacts/$target.log" 2>&1; then
    echo "$target: $(tr '\t' ' ' <"artifacts/$target.log" | grep -Eo '#[0-9]+ +DONE +cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+' | tail -1) in ${SECONDS_PER_TARGET}s, no crash"
  else
    echo "$target: FAILED (see fuzz/artifacts/$target.log and fuzz/artifacts/$target/)"
    grep -E "panicked|ERROR|SUMMARY" "artifacts/$target.log" | head -5
    return 1
  fi
}
pids=()
for target in $TARGETS; do
  run "$target" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$JOBS" ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
