#!/usr/bin/env bash
# Stops what scripts/setup_test_services.sh started for this test session, and nothing that was running before it.
# `make test` runs it after pytest, whatever pytest's outcome.
bash "$(dirname "$0")/slurm_for_tests.sh" stop
