"""Training runs as scripts/fault_injection.py drives them: `python -m genlab.train` in a process group of its own,
watched until it ends or SIGKILLed a given time after its first checkpoint."""
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_S = 600.0


@dataclass
class RunOutcome:
    run_dir: Path | None
    exit_code: int
    seconds: float
    first_checkpoint_s: float | None  # since the start, as polled
    log_path: Path


def subprocess_env(output_dir: Path, cache_dir: Path, data_dir: str | None) -> dict[str, str]:
    env = {**os.environ, "GENLAB_OUTPUT_DIR": str(output_dir), "GENLAB_CACHE_DIR": str(cache_dir),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    return {**env, "GENLAB_DATA_DIR": str(data_dir)} if data_dir else env


def start_run(arguments: list[str], env: dict, log_path: Path, driver: str | None = None) -> subprocess.Popen:
    """genlab-train in a new session (its own process group), output appended to `log_path`."""
    command = [sys.executable, "-c", driver] if driver else [sys.executable, "-m", "genlab.train"]
    with log_path.open("ab") as log:
        return subprocess.Popen([*command, *arguments], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the run's whole process group and reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def only_run_dir(output_dir: Path) -> Path | None:
    found = sorted(output_dir.glob("*/runs/*/run_info.json"))
    return found[-1].parent if found else None


def watch_run(process: subprocess.Popen, output_dir: Path, started: float,
              kill_delay: float | None = None) -> tuple[float | None, float | None]:
    """Poll until the process ends; with `kill_delay`, SIGKILL it that long after its first last.ckpt appeared.
    Returns when the first checkpoint was seen and when it was killed, in seconds since `started`."""
    first_checkpoint = killed = None
    while process.poll() is None:
        now = time.monotonic() - started
        if now > RUN_TIMEOUT_S:
            kill_group(process)
            raise TimeoutError(f"genlab-train ran past {RUN_TIMEOUT_S:.0f} s under {output_dir}")
        if first_checkpoint is None and (run_dir := only_run_dir(output_dir)) is not None:
            first_checkpoint = now if (run_dir / "checkpoints" / "last.ckpt").exists() else None
        if kill_delay is not None and first_checkpoint is not None and now >= first_checkpoint + kill_delay:
            killed = time.monotonic() - started
            kill_group(process)
            break
        time.sleep(0.02)
    return first_checkpoint, killed


def run_to_end(arguments: list[str], env: dict, output_dir: Path, resume: Path | None = None) -> RunOutcome:
    """One run (or a resume, `resume=<run_dir>`) to its end."""
    output_dir.mkdir(parents=True, exist_ok=True)
    log_path = output_dir / ("resume.log" if resume else "train.log")
    started = time.monotonic()
    process = start_run([*arguments, *([f"resume={resume}"] if resume else [])], env, log_path)
    first_checkpoint, _ = watch_run(process, output_dir, started)
    return RunOutcome(resume or only_run_dir(output_dir), process.returncode, time.monotonic() - started,
                      first_checkpoint, log_path)
