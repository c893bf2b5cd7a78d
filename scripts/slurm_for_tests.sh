#!/usr/bin/env bash
# The local SLURM cluster for the tests (root only). `start`: start it with scripts/start_slurm.sh and note in
# $STATE/started-by-tests what this started; `stop`: stop exactly that, never a cluster or munged that ran before.
set -uo pipefail
STATE=${SLURM_LOCAL_DIR:-/tmp/genlab-slurm}
MARKER=$STATE/started-by-tests
here=$(dirname "$0")
case ${1:-} in
  start)
    slurm_was_up=false; munge_was_up=false
    sinfo -h >/dev/null 2>&1 && slurm_was_up=true
    pgrep -x munged >/dev/null && munge_was_up=true
    bash "$here/start_slurm.sh" -q || exit 1
    if ! $slurm_was_up; then
      mkdir -p "$STATE"
      { echo slurm; $munge_was_up || echo munged; } > "$MARKER"
    fi ;;
  stop)
    [[ -f $MARKER ]] || exit 0
    bash "$here/start_slurm.sh" stop >/dev/null
    if grep -qx munged "$MARKER"; then pkill -x munged; fi
    rm -f "$MARKER" ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2 ;;
esac
exit 0
