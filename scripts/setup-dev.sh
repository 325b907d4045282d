#!/usr/bin/env bash
# Creates (or updates) the virtual environments the test suite needs:
#   .venv            llmops itself with the dev extra
#   .venvs/phoenix   a real Phoenix server, isolated from our dependencies
#   .venvs/mlflow    a real MLflow tracking server, isolated likewise
#   .venvs/rotel     rotel, a real OpenTelemetry collector (a Rust binary, rotel-agent)
#   .venvs/peer-*    phoenix.otel, arize-otel and the OTel SDK, for the migration parity suite
# Idempotent: a second run only checks the pins. Uses uv (installed from PyPI if missing),
# which resolves these dependency sets in seconds where plain pip takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! command -v uv >/dev/null 2>&1; then
  "$PYTHON" -m pip install --quiet --disable-pip-version-check uv
fi
UV=$(command -v uv || echo "$PYTHON -m uv")

make_venv() {  # make_venv DIR REQUIREMENT...
  local dir=$1; shift
  [ -x "$dir/bin/python" ] || $UV venv --quiet --python "$PYTHON" "$dir"
  VIRTUAL_ENV="$dir" $UV pip install --quiet "$@"
}

make_venv .venv -e '.[dev]'
make_venv .venvs/phoenix -r tests/servers/requirements-phoenix.txt
make_venv .venvs/mlflow -r tests/servers/requirements-mlflow.txt
make_venv .venvs/rotel -r tests/servers/requirements-rotel.txt
# The peers the migration parity suite (tests/migration) runs side by side with llmops, from
# the benchmarks' pinned requirement files.
for peer in phoenix-otel arize-otel otel; do
  make_venv ".venvs/peer-$peer" -r "benchmarks/requirements/$peer.txt"
done
echo "virtual environments ready: .venv .venvs/phoenix .venvs/mlflow .venvs/rotel .venvs/peer-*"
