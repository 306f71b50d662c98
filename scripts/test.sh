#!/usr/bin/env bash
# The whole test suite: installs/starts what the tests need, then runs every test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/test-deps.sh
export PLINTH_TEST_VENV="${PLINTH_TEST_VENV:-$root/target/test-venv}"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
