# Sourced by backup.sh and restore.sh: finds the stack's running PostgreSQL container (CONTAINER) and its engine.
# Reads the caller's first argument (the stack, default dev).
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
