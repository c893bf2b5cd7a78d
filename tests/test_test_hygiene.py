"""The test session's own hygiene: tests write only under their tmp dirs, and `make test` stops the services it
started (the local SLURM cluster) and nothing else."""
import os
import subprocess
import sys

import pytest

from conftest import REPO, repo_files


def test_the_checkout_guard_sees_a_file_a_test_writes_into_the_checkout():
    before = repo_files()
    probe = REPO / "outputs" / "guard_probe.txt"
    created_dir = not probe.parent.exists()
    probe.parent.mkdir(exist_ok=True)
    try:
        probe.write_text("written by a test\n")
        after = repo_files()
    finally:
        probe.unlink()
        if created_dir:
            probe.parent.rmdir()
    assert after - before == {"outputs/guard_probe.txt"}


def sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


@pytest.mark.parametrize("started_by_tests", [True, False], ids=["started-by-tests", "running-before"])
def test_stop_test_services_stops_only_what_setup_started(tmp_path, started_by_tests):
    daemons = {name: sleeper() for name in ("slurmd", "slurmctld")}
    try:
        for name, process in daemons.items():
            (tmp_path / f"{name}.pid").write_text(f"{process.pid}\n")
        if started_by_tests:
            (tmp_path / "started-by-tests").write_text("slurm\n")
        result = subprocess.run(["bash", str(REPO / "scripts" / "stop_test_services.sh")], capture_output=True,
                                text=True, env={**os.environ, "SLURM_LOCAL_DIR": str(tmp_path)}, timeout=60)
        assert result.returncode == 0, result.stderr
        for process in daemons.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        stopped = [process.poll() is not None for process in daemons.values()]
        assert stopped == [started_by_tests] * 2
        assert not (tmp_path / "started-by-tests").exists()
    finally:
        for process in daemons.values():
            process.kill()
            process.wait()
