#!/usr/bin/env bash
# Foundation benchmarks and their peers, in one run. Figures go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
echo "== yiwang (criterion, 1 thread)"
# One line per benchmark: name and the median throughput (criterion's middle estimate).
cargo bench -p yiwang-codes -p yiwang-calendar --bench codes --bench calendar -- --noplot 2>&1 \
  | awk '/^(codes|calendar)\// { name = $1; want = 1 }
         want && /thrpt:/ { match($0, /thrpt: +\[[^ ]+ [^ ]+ ([^ ]+ [^ ]+)/, m); printf "%-36s %s\n", name, m[1]; want = 0 }'
echo "== peers (Python)"
python3 scripts/bench_peers.py
