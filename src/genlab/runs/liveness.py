"""A run's status as a reader sees it: `running` only while its process is there and its heartbeat is fresh, else
`dead` (killed with -9, its node lost); and its wall time."""
import os
import socket
from datetime import datetime, timezone
from pathlib import Path

from genlab.errors import RunInfoError
from genlab.runs.run_info import HEARTBEAT_SECONDS, RUN_INFO_FILE, read_run_info

STALE_HEARTBEAT_SECONDS = 3 * HEARTBEAT_SECONDS


def parse_time(text: str | None) -> datetime | None:
    """run_info.json's ISO times (None when absent or unreadable)."""
    try:
        return datetime.fromisoformat(text) if text else None
    except (TypeError, ValueError):  # a hand-edited or foreign file
        return None


def utc_now() -> datetime:
    """Timezone-aware now, comparable with run_info.json's UTC times."""
    return datetime.now(timezone.utc)


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def run_status(info: dict, now: datetime | None = None) -> tuple[str, str | None]:
    """(status, detail): the recorded status, except that a `running` run is `dead` when its pid is gone from this
    host or its heartbeat went stale (another host, or a hung process whose pid was reused)."""
    status = info.get("status") or "unknown"
    if status != "running":
        return status, info.get("error")
    pid, host = info.get("pid"), info.get("host")
    if isinstance(pid, int) and host == socket.gethostname() and not process_alive(pid):
        return "dead", f"process gone: pid {pid} no longer runs on {host}"
    heartbeat = parse_time(info.get("heartbeat"))
    if heartbeat is None:
        return "dead", "no heartbeat recorded"
    age = ((now or utc_now()) - heartbeat).total_seconds()
    if age < STALE_HEARTBEAT_SECONDS:
        return "running", None
    return "dead", f"process gone: last heartbeat {age:.0f} s ago"


def wall_time_s(info: dict, status: str, now: datetime) -> float | None:
    """Start to end; to now for a running run; to the last heartbeat for a dead one."""
    start = parse_time(info.get("start_time"))
    end = now if status == "running" else parse_time(info.get("end_time") or info.get("heartbeat"))
    return None if start is None or end is None else (end - start).total_seconds()


def sweep_job_runs(sweep_dir: Path) -> list[tuple[int, Path, dict, str, str | None]]:
    """(job number, job dir, run_info, status, detail) of each job of a sweep that has a run, by job number."""
    job_dirs = [info.parent for info in Path(sweep_dir).glob(f"*/{RUN_INFO_FILE}") if info.parent.name.isdigit()]
    runs = []
    for job_dir in sorted(job_dirs, key=lambda path: int(path.name)):
        try:
            info = read_run_info(job_dir)
        except RunInfoError as error:
            runs.append((int(job_dir.name), job_dir, {}, "unknown", str(error)))
            continue
        runs.append((int(job_dir.name), job_dir, info, *run_status(info)))
    return runs
