#!/usr/bin/env bash
# `npm test`: make sure everything the tests need is here (Docker engine, host tools, npm deps,
# a fresh build), then run every test. Extra arguments filter test files by path substring.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-docker.sh
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm dependencies"
  npm ci --no-audit --no-fund
fi
npm run --silent build
npm run --silent typecheck
node scripts/run-tests.mjs "$@"
