#!/usr/bin/env bash
# Dump a docker stack's PostgreSQL database through its running container: backups/<stack>-<UTC time>.sql.gz
# (on an AWS stack: a manual RDS snapshot, see below)
#   scripts/backup.sh [STACK]          (default: dev; `make backup`, `make backup EXAMPLE=castiel`)
# The engine is twinstack:dockerHost when the stack sets one. Credentials come from the container's own env, so nothing
# secret is typed or stored here. The dump is plain SQL with DROP ... IF EXISTS, so restore.sh replaces what exists.
set -euo pipefail
cd "$(dirname "$0")/.."
# An AWS stack: a named, tagged manual RDS snapshot instead, waited for (tools/ops.py, docs/operations.md).
if [ -f "Pulumi.${1:-dev}.yaml" ] && grep -Eq '^  twinstack:backend:[[:space:]]*"?aws"?[[:space:]]*(#.*)?$' "Pulumi.${1:-dev}.yaml"; then
  py=.venv/bin/python; [ -x "$py" ] || py=python3
  exec "$py" -m tools.ops backup "${1:-dev}" ${NAME:+--name "$NAME"}
fi
. scripts/stack-postgres.sh

mkdir -p backups
out="backups/${STACK}-$(date -u +%Y%m%dT%H%M%SZ).sql.gz"
tmp="${out}.partial"
trap 'rm -f "$tmp"' EXIT
echo "dumping database of ${CONTAINER} to ${out}"
docker exec "$CONTAINER" sh -c \
  'PGPASSWORD="$POSTGRES_PASSWORD" pg_dump -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" --clean --if-exists --no-owner --no-privileges' \
  | gzip -9 > "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "wrote ${out} ($(du -h "$out" | cut -f1))"
