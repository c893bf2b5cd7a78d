#!/usr/bin/env bash
# Stops what scripts/setup_test_services.sh started for this test session (and nothing that was running before it):
# the local SLURM cluster's daemons and munged. `make test` runs it after pytest, whatever pytest's outcome.
set -uo pipefail
STATE=${SLURM_LOCAL_DIR:-/tmp/genlab-slurm}
MARKER=$STATE/started-by-tests
[[ -f $MARKER ]] || exit 0
bash "$(dirname "$0")/start_slurm.sh" stop >/dev/null
if grep -qx munged "$MARKER"; then pkill -x munged 2>/dev/null || true; fi
rm -f "$MARKER"
exit 0
