"""multirun_summary.csv/.json in a sweep dir: one row per job, updated by each job as it ends (any launcher)."""
import csv
import io
import json
import math
import time
from pathlib import Path
from typing import Any

from filelock import FileLock
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from genlab.compat.hydra import job_result
from genlab.errors import one_line
from genlab.runs.atomic import write_atomic, write_json_atomic
from genlab.runs.rank import global_rank
from genlab.runs.liveness import parse_time, sweep_job_runs, utc_now
from genlab.runs.run_info import read_run_info
from genlab.runs.secrets import redact

SUMMARY_COLUMNS = (
    "job_num",
    "run_id",
    "overrides",
    "status",
    "optimized_metric",
    "metric_value",
    "wall_time_s",
    "error",
    "run_dir",
)
SUMMARY_CSV = "multirun_summary.csv"
SUMMARY_JSON = "multirun_summary.json"
FINAL_STATUSES = ("completed", "failed", "interrupted")


def read_summary(sweep_dir: Path) -> list[dict[str, Any]]:
    """The rows of `<sweep_dir>/multirun_summary.json`, by job_num (empty if there is none yet)."""
    path = Path(sweep_dir) / SUMMARY_JSON
    return json.loads(path.read_text())["rows"] if path.is_file() else []


def write_summary(sweep_dir: Path, rows: list[dict[str, Any]]) -> None:
    """Write the rows as CSV (None as an empty cell) and JSON, each atomically."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: "" if row.get(key) is None else row.get(key) for key in SUMMARY_COLUMNS} for row in rows)
    write_atomic(Path(sweep_dir) / SUMMARY_CSV, text.getvalue().encode())
    write_json_atomic(Path(sweep_dir) / SUMMARY_JSON, {"columns": list(SUMMARY_COLUMNS), "rows": rows})


def summary_lock(sweep_dir: Path) -> FileLock:
    """The lock every writer of this sweep's summary holds (jobs may run in other processes or on other nodes)."""
    return FileLock(str(Path(sweep_dir) / f"{SUMMARY_CSV}.lock"))


def record_job(sweep_dir: Path, row: dict[str, Any]) -> None:
    """Add or replace (same job_num) one job's row: read-modify-write under the sweep's file lock."""
    with summary_lock(sweep_dir):
        rows = {existing["job_num"]: existing for existing in read_summary(sweep_dir)}
        rows[row["job_num"]] = {key: row.get(key) for key in SUMMARY_COLUMNS}
        write_summary(sweep_dir, [rows[num] for num in sorted(rows)])


def error_line(error: BaseException) -> str:
    """A job's exception as the one line genlab's CLI would print for it."""
    first_line = (str(error).splitlines() or [""])[0]
    return one_line(error) or (f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__)


def job_outcome(info: dict, job_return: JobReturn) -> tuple[str, str | None]:
    """(status, error): run_info.json's status (else failed if the job raised), the raised error's one line."""
    raised = job_return.status != JobStatus.COMPLETED
    status = info.get("status") if info.get("status") in FINAL_STATUSES else "completed"
    if not raised:
        return status, info.get("error")
    return (status if status != "completed" else "failed"), error_line(job_result(job_return))


def metric_value(info: dict, job_return: JobReturn, metric: str | None) -> float | None:
    """The job's final value of `metric`: from run_info.json, else the number the task returned."""
    if not metric:
        return None
    value = info.get("final_metrics", {}).get(metric)
    if value is None and job_return.status == JobStatus.COMPLETED:
        value = job_result(job_return)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def job_row(config: DictConfig, job_return: JobReturn, wall_time_s: float | None) -> dict[str, Any]:
    """One summary row, built only from what the job itself wrote or returned."""
    run_dir = Path(config.hydra.runtime.output_dir)
    info = read_run_info(run_dir)
    status, error = job_outcome(info, job_return)
    metric = config.get("optimized_metric")
    return {
        "job_num": int(config.hydra.job.num),
        "run_id": info.get("run_id"),
        "overrides": redact(" ".join(job_return.overrides or [])),  # a secret typed on a rejected job's command line
        "status": status,
        "optimized_metric": metric,
        "metric_value": metric_value(info, job_return, metric),
        "wall_time_s": None if wall_time_s is None else round(wall_time_s, 3),
        "error": error,
        "run_dir": str(run_dir),
    }


def unrecorded_job_rows(sweep_dir: Path, recorded: set[int]) -> list[dict[str, Any]]:
    """Rows for job dirs that have a run but no summary row: jobs killed (-9, lost node) before they could write one."""
    return [{"job_num": job_num, "run_id": info.get("run_id"), "overrides": " ".join(info.get("overrides", [])),
             "status": status, "error": detail, "run_dir": str(job_dir)}
            for job_num, job_dir, info, status, detail in sweep_job_runs(sweep_dir) if job_num not in recorded]


def record_unrecorded_jobs(sweep_dir: Path) -> None:
    """Add a row (dead, or running) for every job whose run never reported its end."""
    with summary_lock(sweep_dir):
        rows = {row["job_num"]: row for row in read_summary(sweep_dir)}
        for row in unrecorded_job_rows(sweep_dir, set(rows)):
            rows[row["job_num"]] = {key: row.get(key) for key in SUMMARY_COLUMNS}
        write_summary(sweep_dir, [rows[num] for num in sorted(rows)])


def is_multirun_writer(config: DictConfig) -> bool:
    """Only multirun jobs write a summary, and under DDP only global rank 0."""
    return config.hydra.mode == RunMode.MULTIRUN and global_rank() == 0


class MultirunSummary(Callback):
    """Hydra callback: keeps `multirun_summary.{csv,json}` in the sweep dir current as each job ends.

    Runs in the job's own process (basic, joblib and submitit launchers alike), so it reads only what the
    job left behind (run_info.json, the JobReturn) and merges its row under a file lock.
    """

    def __init__(self) -> None:
        self.job_started: float | None = None
        self.job_started_at = utc_now()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not is_multirun_writer(config):
            return
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        with summary_lock(sweep_dir):
            if not (sweep_dir / SUMMARY_JSON).is_file():
                write_summary(sweep_dir, [])

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.job_started = time.monotonic()
        self.job_started_at = utc_now()

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if not is_multirun_writer(config):
            return
        sweep_dir = Path(config.hydra.sweep.dir)
        if self.skipped(config) and any(row["job_num"] == config.hydra.job.num for row in read_summary(sweep_dir)):
            return  # a resumed sweep skipped this completed job: its row stands
        wall_time_s = None if self.job_started is None else time.monotonic() - self.job_started
        record_job(sweep_dir, job_row(config, job_return, wall_time_s))

    def skipped(self, config: DictConfig) -> bool:
        """True when the job's run ended before this job started (a resumed sweep reused its result)."""
        end = parse_time(read_run_info(Path(config.hydra.runtime.output_dir)).get("end_time"))
        return end is not None and end < self.job_started_at.replace(microsecond=0)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if is_multirun_writer(config):
            record_unrecorded_jobs(Path(config.hydra.sweep.dir))
