#!/usr/bin/env bash
# Installs what the test suite talks to, idempotently:
#  - a Python virtualenv with moto server (AWS emulator), kmock (Kubernetes emulator) and
#    check-jsonschema (validates the GitHub workflow files in .ci/run), checkov and
#    kubernetes-validate (independent checkers of the rendered manifests and plans),
#  - the Debian `postgresql` package (the test harness runs initdb itself in a temp dir).
# Safe to run again: each step is skipped when already done.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${PLINTH_TEST_VENV:-$root/target/test-venv}"
requirements="$root/tests/harness/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "test-deps: creating $venv (moto, kmock)" >&2
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian's system Python ships venv/ensurepip separately.
    echo "test-deps: installing python3-venv" >&2
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$venv"
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "test-deps: installing the Debian postgresql package" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
fi
