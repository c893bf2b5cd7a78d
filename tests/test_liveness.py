"""Readers tell a live run from one killed with -9: by its pid on this host, and by heartbeat age elsewhere."""
import json
import os
import signal
import socket
import subprocess
import sys
from datetime import timedelta

from genlab.runs.liveness import STALE_HEARTBEAT_SECONDS, run_status, utc_now


def running_info(pid: int, host: str, heartbeat_age_s: float = 1.0) -> dict:
    return {"status": "running", "pid": pid, "host": host,
            "heartbeat": (utc_now() - timedelta(seconds=heartbeat_age_s)).isoformat()}


def test_a_run_whose_process_was_killed_is_dead_at_once_although_its_heartbeat_is_fresh():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    info = running_info(process.pid, socket.gethostname())
    assert run_status(info) == ("running", None)
    process.send_signal(signal.SIGKILL)
    process.wait()
    status, detail = run_status(info)
    assert status == "dead" and detail == f"process gone: pid {process.pid} no longer runs on {socket.gethostname()}"


def test_a_run_on_another_host_is_judged_by_its_heartbeat_alone():
    assert run_status(running_info(1, "elsewhere")) == ("running", None)
    status, detail = run_status(running_info(1, "elsewhere", heartbeat_age_s=STALE_HEARTBEAT_SECONDS + 5))
    assert status == "dead" and detail.startswith("process gone: last heartbeat")


def test_a_live_pid_with_a_stale_heartbeat_is_dead_and_final_statuses_pass_through():
    stale = running_info(os.getpid(), socket.gethostname(), heartbeat_age_s=STALE_HEARTBEAT_SECONDS + 5)
    assert run_status(stale)[0] == "dead"  # hung, or the pid now belongs to another process
    assert run_status({"status": "failed", "error": "boom"}) == ("failed", "boom")


def test_resuming_a_run_whose_process_is_alive_is_refused_and_its_files_stay(run_cli, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    info = {**running_info(os.getpid(), socket.gethostname()), "run_id": "live0001"}
    (run_dir / "run_info.json").write_text(json.dumps(info))
    result = run_cli("train", f"resume={run_dir}")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"genlab-train: error: resume={run_dir}: the run is still running (pid {os.getpid()} on "
        f"{socket.gethostname()}); stop it first")
    assert json.loads((run_dir / "run_info.json").read_text()) == info
