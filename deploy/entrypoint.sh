#!/bin/sh
# Runs one process of the Procfile by name, exactly as `python -m bot run` does (honcho runs
# each line through a shell too), so the image cannot drift from the Procfile:
#   entrypoint.sh rasa | actions | core_banking | agent_desk [extra args...]
#   entrypoint.sh --print NAME     print the expanded command line, one argument a line
# Ports, URLs and secrets come from the environment (bot/settings.py, deploy/README.md).
set -eu

APP_DIR=${APP_DIR:-$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)}
PROCFILE=${PROCFILE:-$APP_DIR/Procfile}

print=0
if [ "${1:-}" = "--print" ]; then
    print=1
    shift
fi
if [ $# -eq 0 ]; then
    echo "usage: $0 [--print] PROCESS [args...]; processes: $(grep -E '^[a-z_]+:' "$PROCFILE" | cut -d: -f1 | tr '\n' ' ')" >&2
    exit 64
fi
name=$1
shift

line=$(grep -E "^${name}:" "$PROCFILE" | head -n 1 | cut -d: -f2- || true)
if [ -z "$line" ]; then
    echo "no process '$name' in $PROCFILE; it has: $(grep -E '^[a-z_]+:' "$PROCFILE" | cut -d: -f1 | tr '\n' ' ')" >&2
    exit 64
fi
if [ "$name" = "redis" ]; then
    echo "the embedded Redis is for development only; deployments run a real Redis (REDIS_URL)" >&2
    exit 64
fi

# -u: a variable the line needs but the environment lacks stops the container with its name
# instead of starting the process with a missing argument.
cd "$APP_DIR"
if [ "$print" -eq 1 ]; then
    exec sh -u -c "printf '%s\n' $line \"\$@\"" "$name" "$@"
fi
exec sh -u -c "exec $line \"\$@\"" "$name" "$@"
