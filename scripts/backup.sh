#!/usr/bin/env bash
# Dump a docker stack's PostgreSQL database through its running container: backups/<stack>-<UTC time>.sql.gz
#   scripts/backup.sh [STACK]          (default: dev; `make backup`, `make backup EXAMPLE=castiel`)
# The engine is twinstack:dockerHost when the stack sets one. Credentials come from the container's own env, so nothing
# secret is typed or stored here. The dump is plain SQL with DROP ... IF EXISTS, so restore.sh replaces what exists.
set -euo pipefail
cd "$(dirname "$0")/.."
STACK="${1:-dev}"
# The container is <namePrefix>-postgres: twinstack:namePrefix from Pulumi.<STACK>.yaml or, as config/load.py derives
# it, the stack name lowercased with anything but [a-z0-9-] turned into '-', at most 20 characters.
stack_file="Pulumi.${STACK}.yaml"
[ -f "$stack_file" ] || { echo "no ${stack_file}: which stack? (usage: $0 [STACK] ...)" >&2; exit 1; }
setting() { sed -n "s/^  twinstack:$1:[[:space:]]*\"\{0,1\}\([^\"#[:space:]]*\)\"\{0,1\}.*$/\1/p" "$stack_file" | head -n 1; }
prefix=$(setting namePrefix)
[ -n "$prefix" ] || prefix=$(printf '%s' "$STACK" | tr '[:upper:]' '[:lower:]' | sed 's/[^a-z0-9-]/-/g' | cut -c1-20)
host=$(setting dockerHost)
[ -z "$host" ] || export DOCKER_HOST="$host"
CONTAINER="${prefix}-postgres"
if ! docker inspect -f '{{.State.Running}}' "$CONTAINER" 2>/dev/null | grep -q true; then
  echo "container ${CONTAINER} is not running${DOCKER_HOST:+ on ${DOCKER_HOST}}: deploy the stack first (make up)" >&2
  exit 1
fi

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
