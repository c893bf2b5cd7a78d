#!/usr/bin/env bash
# Installs/starts what the tests need from the system (idempotent, quiet). Later: SLURM, Chromium.
set -euo pipefail
command -v git >/dev/null || { echo "setup_test_services: git is required for run_info.json's code version" >&2; exit 1; }
exit 0
