"""run_info.json: who/what/where a run is, its heartbeat while alive, and how it ended."""
import json
import threading
from datetime import datetime, timezone
from pathlib import Path

from genlab.errors import RunInfoError, one_line, unreadable
from genlab.runs.atomic import write_json_atomic
from genlab.runs.environment import git_state, package_versions, process_identity
from genlab.runs.secrets import redact

RUN_INFO_FILE = "run_info.json"
HEARTBEAT_SECONDS = 10.0


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_run_info(run_dir: Path) -> dict:
    """The parsed run_info.json of `run_dir` (empty dict if there is none); RunInfoError naming a corrupt one."""
    path = Path(run_dir) / RUN_INFO_FILE
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise RunInfoError(unreadable(path, error, "JSON")) from None
    if not isinstance(info, dict):
        raise RunInfoError(f"{path} holds a {type(info).__name__}, not a dict")
    return info


class RunRecorder:
    """Context manager keeping `<run_dir>/run_info.json` current from start to final status.

    Exiting normally marks the run `completed`; KeyboardInterrupt/SIGTERM exits mark it `interrupted`;
    any other exception marks it `failed` with the error's first line. A daemon thread refreshes the
    heartbeat so readers can tell a live run from one killed with -9.
    """

    def __init__(self, run_dir: Path, run_id: str, task_name: str, overrides: list[str], enabled: bool = True):
        self.path = Path(run_dir) / RUN_INFO_FILE
        self.enabled = enabled
        self._lock = threading.Lock()
        self._stop = threading.Event()
        previous = read_run_info(run_dir) if enabled else {}
        self.info = {
            "run_id": run_id,
            "task_name": task_name,
            "run_dir": str(Path(run_dir).resolve()),
            "overrides": list(overrides),
            "start_time": previous.get("start_time", now_iso()),
            "resumed_times": previous.get("resumed_times", []) + ([now_iso()] if previous else []),
            "git": git_state(),
            "versions": package_versions(),
            **process_identity(),
            "status": "running",
            "error": None,
            "end_time": None,
            "heartbeat": now_iso(),
            "final_metrics": previous.get("final_metrics", {}),
        }

    def update(self, **fields) -> None:
        """Set fields and rewrite the file atomically."""
        with self._lock:
            self.info.update(fields)
            if self.enabled:
                write_json_atomic(self.path, self.info)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self.update(heartbeat=now_iso())

    def __enter__(self) -> "RunRecorder":
        self.update()
        if self.enabled:
            threading.Thread(target=self._beat, name="genlab-heartbeat", daemon=True).start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stop.set()
        if exc is None:
            status, error = "completed", None
        elif isinstance(exc, KeyboardInterrupt) or type(exc).__name__ in ("SIGTERMException", "RunInterrupted"):
            status, error = "interrupted", str(exc) or type(exc).__name__
        else:
            status, error = "failed", redact(one_line(exc) or (str(exc).splitlines() or [type(exc).__name__])[0])
        self.update(status=status, error=error, end_time=now_iso(), heartbeat=now_iso())

