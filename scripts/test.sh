#!/usr/bin/env bash
# The test command of the README: set up what the tests need, then run them all,
# end-to-end tests against real Phoenix and MLflow servers included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-dev.sh
export LLMOPS_REQUIRE_E2E=1   # a missing test server is a failure here, not a skip
exec .venv/bin/python -m pytest "$@"
