#!/usr/bin/env bash
# Run every test: unit, property, conformance (SQLite and PostgreSQL),
# end-to-end CLI/server tests and the Python peer checks.
#
# Needs: a Rust toolchain, python3 with pip, poppler-utils, zbar-tools, Node.js with npm,
# Debian's chromium, libfaketime (apt: faketime), and PostgreSQL at 127.0.0.1:5432
# with trust auth and a database `test` (override with YIWANG_TEST_PG_URL).
set -euo pipefail
cd "$(dirname "$0")/.."

# Python peers used by the cross-check tests.
python3 -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt

# The PDF tests read our PDFs back with poppler (pdffonts, pdftotext, pdftoppm) and
# decode a printed license's QR code with zbar (zbarimg).
if ! command -v pdftotext >/dev/null 2>&1 || ! command -v pdffonts >/dev/null 2>&1 || ! command -v zbarimg >/dev/null 2>&1; then
  echo "poppler-utils or zbar-tools is missing: apt-get install poppler-utils zbar-tools" >&2
  exit 1
fi

# The browser test drives Debian's Chromium with playwright-core from npm (never a
# browser the tool downloads itself).
CHROMIUM_BIN="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM_BIN" ]; then
  echo "Chromium is missing at $CHROMIUM_BIN: apt-get install chromium (or set CHROMIUM)" >&2
  exit 1
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "Node.js and npm are missing (the browser test needs them): apt-get install nodejs npm" >&2
  exit 1
fi
(cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
# The supervision browser test moves a node's wall clock forward with libfaketime.
if [ ! -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ]; then
  echo "libfaketime is missing (the supervision browser test needs it): apt-get install faketime" >&2
  exit 1
fi

# PostgreSQL must be reachable: the conformance suite runs on both backends.
PG_URL="${YIWANG_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
if ! python3 - "$PG_URL" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
s = socket.create_connection((u.hostname or "127.0.0.1", u.port or 5432), timeout=3)
s.close()
PY
then
  echo "PostgreSQL is not reachable at $PG_URL; start it (e.g. pg_ctlcluster <ver> main start) or set YIWANG_TEST_PG_URL" >&2
  exit 1
fi

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --profile "${NEXTEST_PROFILE:-default}"
else
  cargo test --workspace --locked
fi

# The API driven by an independent tool that reads only /api/openapi.json
# (schemathesis, as anonymous, a citizen, a reviewer and an admin): no server
# error, no response outside the document, the node alive at the end.
# SCHEMATHESIS_SECONDS per persona (default 60; 0 skips).
if [ "${SCHEMATHESIS_SECONDS:-60}" != "0" ]; then
  scripts/schemathesis.sh "${SCHEMATHESIS_SECONDS:-60}"
fi

# Every parser of outside input fuzzed (cargo-fuzz, libFuzzer, nightly), from
# the committed seeds: no panic, no timeout. FUZZ_SECONDS per target (default 30; 0 skips).
if [ "${FUZZ_SECONDS:-30}" != "0" ]; then
  scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
fi
