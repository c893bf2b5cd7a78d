"""Run lifecycle: identity, run_info.json, heartbeat, final status."""
