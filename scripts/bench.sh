#!/usr/bin/env bash
# Foundation benchmarks and their peers, in one run. Figures go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
echo "== yiwang (criterion, 1 thread)"
cargo bench -p yiwang-codes -p yiwang-calendar --bench codes --bench calendar -- --noplot 2>&1 \
  | grep -E "^(codes|calendar)/|thrpt:" | paste - - | sed -E 's/ +/ /g'
echo "== peers (Python)"
python3 scripts/bench_peers.py
