#!/usr/bin/env bash
# Installs Checkov, pinned, into a virtualenv of its own (.cache/checkov), apart from the project's .venv: Checkov pins
# its own boto3/botocore and more, which would fight requirements.txt. tests/test_checkov.py runs
# .cache/checkov/bin/checkov on the Terraform plan of each production AWS graph (tools/tfplan.py) and skips, saying
# why, when it is missing. Cheap to re-run: a venv that already has this version is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

CHECKOV_VERSION=3.3.30
VENV=.cache/checkov
ERROR=.cache/checkov.error  # why the last install failed, for the test's skip reason
PYTHON=${PYTHON:-python3}

if [[ -x $VENV/bin/checkov && "$(cat "$VENV/.version" 2>/dev/null)" == "$CHECKOV_VERSION" ]]; then
  exit 0
fi
echo "installing Checkov $CHECKOV_VERSION into $VENV"
rm -rf "$VENV" "$ERROR"
mkdir -p .cache
log=$(mktemp)
if ! { "$PYTHON" -m venv "$VENV" && "$VENV/bin/python" -m pip install --upgrade pip \
       && "$VENV/bin/python" -m pip install "checkov==$CHECKOV_VERSION"; } >"$log" 2>&1; then
  { echo "scripts/install-checkov.sh could not install checkov==$CHECKOV_VERSION:"; grep -v "^WARNING" "$log" | tail -n 3 | cut -c1-300; } \
    >"$ERROR"
  cat "$ERROR" >&2
  rm -rf "$VENV" "$log"
  exit 1
fi
rm -f "$log"
echo "$CHECKOV_VERSION" >"$VENV/.version"
