#!/usr/bin/env bash
# Installs/starts what the tests need from the system (idempotent, quiet): git, the local SLURM cluster, Chromium.
set -euo pipefail
command -v git >/dev/null || { echo "setup_test_services: git is required for run_info.json's code version" >&2; exit 1; }

# SLURM for tests/test_slurm.py: as root, start the local cluster when it is not up (stop_test_services.sh stops it). If it can't start, only those
# tests are affected: they skip, or fail with the reason under GENLAB_REQUIRE_SLURM=1 (`make test` as root).
if [[ $(id -u) == 0 ]]; then
  bash "$(dirname "$0")/slurm_for_tests.sh" start \
    || echo "setup_test_services: the local SLURM cluster did not start; tests/test_slurm.py will say why" >&2
fi

# Chromium for genlab-compare's browser tests.
# tests/test_compare.py renders compare.html in headless Chromium. As root, install Debian's package when missing; if
# that fails, only those tests are affected: they skip, or fail with the reason under GENLAB_REQUIRE_BROWSER=1.
if [[ $(id -u) == 0 ]] && ! command -v chromium >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
    || echo "setup_test_services: chromium did not install; tests/test_compare.py's browser checks will skip" >&2
fi
exit 0
