#!/usr/bin/env bash
# Run every fuzz target (fuzz/fuzz_targets: identifiers, BPMN, conditions, form
# schemas and data, catalog import rows, sealed licenses and tokens, GB/T 39046
# records, multipart uploads) for a bounded time each, with libFuzzer through
# cargo-fuzz on the nightly toolchain, starting from the committed seeds in
# fuzz/seeds. Any crash, panic, timeout or out-of-memory fails the run.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

SECONDS_EACH="${1:-${FUZZ_SECONDS:-30}}"
if ! cargo +nightly --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
TARGETS=$(cargo +nightly fuzz list)
# One build of every target (the first run would build them anyway).
if ! cargo +nightly fuzz build --release >"${TMPDIR:-/tmp}/yiwang-fuzz-build.log" 2>&1; then
  tail -n 60 "${TMPDIR:-/tmp}/yiwang-fuzz-build.log"
  exit 1
fi
FAILED=0
for t in $TARGETS; do
  corpus="$(mktemp -d)"
  echo "--- fuzz $t for ${SECONDS_EACH}s"
  # New inputs go to a scratch corpus; the committed seeds are only read.
  if ! cargo +nightly fuzz run --release "$t" "$corpus" "seeds/$t" -- \
      -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>"$corpus.log"; then
    FAILED=1
    tail -n 60 "$corpus.log"
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$corpus.log" | tr '\n' ' '
    echo
  fi
  rm -rf "$corpus" "$corpus.log"
done
exit "$FAILED"
