#!/usr/bin/env bash
# Drive the API of a demo node with schemathesis (an independent tool that
# reads only /api/openapi.json): as an anonymous caller, a citizen, a reviewer
# and an administrator, for a bounded time each. Passes when schemathesis finds
# no server error and no response that breaks the document, the node logged no
# fault of its own, and it is still alive at the end.
#
# Usage: scripts/schemathesis.sh [SECONDS_PER_PERSONA]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH="${1:-${SCHEMATHESIS_SECONDS:-60}}"
cargo build --locked --bin yiwang --quiet
BIN="target/debug/yiwang"
WORK="$(mktemp -d)"
LOG="$WORK/node.log"
cleanup() {
  [ -n "${NODE_PID:-}" ] && kill "$NODE_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# A fresh demo node on a free loopback port; its first stdout line names the address.
"$BIN" --data-dir "$WORK/data" demo --fresh --listen 127.0.0.1:0 >"$WORK/stdout" 2>"$LOG" &
NODE_PID=$!
BASE=""
for _ in $(seq 1 300); do
  BASE="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$WORK/stdout" | head -n1 || true)"
  [ -n "$BASE" ] && break
  sleep 0.2
done
[ -n "$BASE" ] || { echo "the demo node did not start" >&2; cat "$LOG" >&2; exit 1; }
echo "schemathesis against $BASE, ${SECONDS_EACH}s per persona"

# A session (cookie value and CSRF token) for a demo account, by the login form.
login() {
  local jar="$WORK/jar.$1"
  local page csrf
  page="$(curl -s -c "$jar" -b "$jar" "$BASE/login")"
  csrf="$(printf '%s' "$page" | grep -o 'name="csrf" value="[^"]*"' | head -n1 | sed 's/.*value="//;s/"$//')"
  curl -s -c "$jar" -b "$jar" -o /dev/null -X POST "$BASE/login" \
    --data-urlencode "login=$1" --data-urlencode "password=Demo-2026" --data-urlencode "csrf=$csrf" --data-urlencode "next=/account"
  page="$(curl -s -c "$jar" -b "$jar" "$BASE/account")"
  csrf="$(printf '%s' "$page" | grep -o 'name="csrf" value="[^"]*"' | head -n1 | sed 's/.*value="//;s/"$//')"
  local session
  session="$(awk '$6 == "yiwang_session" { print $7 }' "$jar")"
  [ -n "$session" ] || { echo "login as $1 failed" >&2; exit 1; }
  echo "$session $csrf"
}

CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance"
FAILED=0
run() {
  local who="$1"
  shift
  echo "--- schemathesis as $who"
  # Run from the scratch directory: schemathesis keeps a cache where it runs.
  # One worker: with two threads, CPython 3.11's ast module (which hypothesis
  # uses to describe its strategies) can fail with "AST constructor recursion
  # depth mismatch", a runtime error of the tool, not of the node.
  if ! (cd "$WORK" && python3 -m schemathesis.cli run "$BASE/api/openapi.json" --checks "$CHECKS" --max-time "$SECONDS_EACH" --workers 1 \
      --suppress-health-check all --request-timeout 20 --exclude-path /oidc/logout "$@" >"$WORK/st-$who.log" 2>&1); then
    FAILED=1
    # What failed (our checks) or broke (the tool), then the summary.
    sed -n '/=\+ \(FAILURES\|ERRORS\) =\+/,/=\+ SUMMARY =\+/p' "$WORK/st-$who.log" | cut -c1-400 | head -n 200
    sed -n '/=\+ SUMMARY =\+/,$p' "$WORK/st-$who.log" | cut -c1-400
  fi
  grep -E '^(  [0-9]+ generated|Test cases:)' -A1 "$WORK/st-$who.log" | tr -s ' \n' ' '
  echo
}

run anonymous
for persona in "citizen 13800000001" "reviewer 330102198001010026" "admin 330102198001010085"; do
  set -- $persona
  read -r SESSION CSRF < <(login "$2")
  run "$1" -H "Cookie: yiwang_session=$SESSION" -H "X-CSRF-Token: $CSRF"
done

# Our own faults are logged as errors: there must be none.
if grep -q "ERROR" "$LOG"; then
  echo "the node logged faults of its own:" >&2
  grep "ERROR" "$LOG" | cut -c1-400 | sort | uniq -c | sort -rn | head -n 20 >&2
  FAILED=1
fi
if ! curl -sf "$BASE/healthz" >/dev/null; then
  echo "the node is not alive after the run" >&2
  FAILED=1
fi
exit "$FAILED"
