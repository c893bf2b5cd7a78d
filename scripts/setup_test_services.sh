#!/usr/bin/env bash
# Installs/starts what the tests need from the system (idempotent, quiet). Later: Chromium.
set -euo pipefail
command -v git >/dev/null || { echo "setup_test_services: git is required for run_info.json's code version" >&2; exit 1; }

# SLURM for tests/test_slurm.py: as root, start the local cluster when it is not up. If it can't start, only those
# tests are affected: they skip, or fail with the reason under GENLAB_REQUIRE_SLURM=1 (`make test` as root).
if [[ $(id -u) == 0 ]]; then
  bash "$(dirname "$0")/start_slurm.sh" -q \
    || echo "setup_test_services: the local SLURM cluster did not start; tests/test_slurm.py will say why" >&2
fi
exit 0
