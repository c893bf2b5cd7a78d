#!/usr/bin/env bash
# Installs/starts what the tests need from the system (idempotent, quiet): git, the local SLURM cluster, Chromium.
set -euo pipefail
command -v git >/dev/null || { echo "setup_test_services: git is required for run_info.json's code version" >&2; exit 1; }

# SLURM for tests/test_slurm.py: as root, start the local cluster when it is not up. If it can't start, only those
# tests are affected: they skip, or fail with the reason under GENLAB_REQUIRE_SLURM=1 (`make test` as root).
# What it starts is written to $STATE/started-by-tests, for scripts/stop_test_services.sh after the tests.
if [[ $(id -u) == 0 ]]; then
  STATE=${SLURM_LOCAL_DIR:-/tmp/genlab-slurm}
  slurm_was_up=false; munge_was_up=false
  sinfo -h >/dev/null 2>&1 && slurm_was_up=true
  pgrep -x munged >/dev/null && munge_was_up=true
  if bash "$(dirname "$0")/start_slurm.sh" -q; then
    if ! $slurm_was_up; then
      { echo slurm; $munge_was_up || echo munged; } > "$STATE/started-by-tests"
    fi
  else
    echo "setup_test_services: the local SLURM cluster did not start; tests/test_slurm.py will say why" >&2
  fi
fi

# Chromium for genlab-compare's browser tests.
# tests/test_compare.py renders compare.html in headless Chromium. As root, install Debian's package when missing; if
# that fails, only those tests are affected: they skip, or fail with the reason under GENLAB_REQUIRE_BROWSER=1.
if [[ $(id -u) == 0 ]] && ! command -v chromium >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
    || echo "setup_test_services: chromium did not install; tests/test_compare.py's browser checks will skip" >&2
fi
exit 0
