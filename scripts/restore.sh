#!/usr/bin/env bash
# Restore a dump made by backup.sh into a docker stack's running PostgreSQL container, in one transaction.
#   scripts/restore.sh [STACK] [FILE]   (default: dev and its newest backups/<STACK>-*.sql.gz)
# Replaces the objects the dump contains; anything it does not contain is left alone. Asks before overwriting
# when run from a terminal (set TWINSTACK_YES=1 to skip the question).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/stack-postgres.sh

file="${2:-}"
if [ -z "$file" ]; then
  file=$(ls -1t backups/"${STACK}"-*.sql.gz 2>/dev/null | head -n 1 || true)
  [ -n "$file" ] || { echo "no backups/${STACK}-*.sql.gz: run scripts/backup.sh ${STACK} first, or name a file" >&2; exit 1; }
fi
[ -f "$file" ] || { echo "no such backup file: $file" >&2; exit 1; }
gzip -t "$file" || { echo "$file is not a readable gzip file" >&2; exit 1; }

if [ -t 0 ] && [ "${TWINSTACK_YES:-}" != 1 ]; then
  read -r -p "overwrite the database in ${CONTAINER} with ${file}? [y/N] " answer
  case "$answer" in y|Y|yes) ;; *) echo "nothing restored"; exit 1 ;; esac
fi
echo "restoring ${file} into ${CONTAINER}"
gzip -dc "$file" | docker exec -i "$CONTAINER" sh -c \
  'PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -v ON_ERROR_STOP=1 --single-transaction --quiet >/dev/null'
echo "restored ${file}"
