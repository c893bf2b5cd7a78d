"""Everything genlab-compare reads from one run dir, read once."""
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from genlab.compare.discover import HYDRA_CONFIG, is_multirun_dir
from genlab.compare.errors import UnreadableRunError, unreadable_file
from genlab.runs.liveness import run_status, wall_time_s
from genlab.compare.metrics_csv import Series, read_series
from genlab.compare.overrides import config_value, parse_overrides
from genlab.runs.multirun_summary import SUMMARY_JSON, read_summary
from genlab.errors import RunInfoError
from genlab.runs.run_info import read_run_info

HYDRA_OVERRIDES = Path(".hydra") / "overrides.yaml"
HYDRA_SETTINGS = Path(".hydra") / "hydra.yaml"
# what genlab.callbacks.sample_logger writes: image grids per epoch, language-model texts per validation step
SAMPLE_PATTERNS = ("samples/epoch_*.png", "samples/step_*.txt")


@dataclass
class RunRecord:
    """One run: identity, overrides, composed config, status, metric series and latest sample."""

    run_dir: Path
    run_id: str
    overrides: dict[str, Any]
    config: dict
    choices: dict
    status: str
    status_detail: str | None
    wall_time_s: float | None
    series: dict[str, Series] = field(default_factory=dict)
    latest_sample: Path | None = None
    skipped_rows: int = 0  # metrics.csv rows naming no step (nan, inf, 2.5), left out of the series
    protocols: Any = None  # run_info.json's metrics_protocol as stored (untrusted: see compare.protocols)

    def value_of(self, key: str) -> Any:
        """The run's value for `key`: its override, else its composed config's; UNSET if it has neither."""
        return self.overrides[key] if key in self.overrides else config_value(self.config, self.choices, key)

    @property
    def last_step(self) -> int | None:
        """The last step any metric was logged at."""
        steps = [step for points in self.series.values() for step, _ in points]
        return max(steps) if steps else None


def of_shape(path: Path, content: Any, shape: type) -> Any:
    """`content` read from `path`, if it is the dict or list a run's file holds; raises UnreadableRunError if not."""
    if not isinstance(content, shape):
        raise UnreadableRunError(f"{path} holds a {type(content).__name__}, not a {shape.__name__}")
    return content


def run_info_of(run_dir: Path) -> dict:
    """run_info.json (empty if absent); raises UnreadableRunError naming a corrupt one."""
    try:
        return read_run_info(run_dir)
    except RunInfoError as error:
        raise UnreadableRunError(str(error)) from error


def read_yaml(path: Path, shape: type) -> Any:
    """A YAML file's dict or list (None if absent or empty); raises UnreadableRunError naming a corrupt one."""
    try:
        content = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) if path.is_file() else None
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise unreadable_file(path, error, "YAML") from error
    return None if content is None else of_shape(path, content, shape)


def sweep_row(run_dir: Path) -> dict:
    """The multirun summary's row for a job dir (empty for a single run, or a job the summary lacks)."""
    if not run_dir.name.isdigit() or not is_multirun_dir(run_dir.parent):
        return {}
    path = run_dir.parent / SUMMARY_JSON
    try:
        rows = of_shape(path, read_summary(run_dir.parent), list)
    except (OSError, ValueError) as error:
        raise unreadable_file(path, error, "JSON") from error
    except (KeyError, TypeError) as error:
        raise UnreadableRunError(f"{path} is not a multirun summary (no \"rows\" list)") from error
    return next((row for row in rows if isinstance(row, dict) and row.get("job_num") == int(run_dir.name)), {})


def sample_number(path: Path) -> int:
    """The epoch or step in a sample's name: epoch_007.png → 7."""
    return int("".join(filter(str.isdigit, path.stem)) or 0)


def latest_sample(run_dir: Path) -> Path | None:
    """The newest sample grid or text sample of a run."""
    samples = [path for pattern in SAMPLE_PATTERNS for path in run_dir.glob(pattern)]
    return max(samples, key=sample_number, default=None)


def read_run(run_dir: Path, now: datetime) -> RunRecord:
    """Read a run dir; a sweep job that failed before writing run_info.json takes status and error from the summary.

    Raises UnreadableRunError naming the first of its files that is binary, corrupt or of the wrong shape.
    """
    info = run_info_of(run_dir) or sweep_row(run_dir)
    status, detail = run_status(info, now)
    overrides = info.get("overrides")
    if not isinstance(overrides, list):  # no run_info.json: Hydra's record, else the summary's space-joined string
        overrides = read_yaml(run_dir / HYDRA_OVERRIDES, list) or (overrides or "").split()
    settings = read_yaml(run_dir / HYDRA_SETTINGS, dict) or {}
    series, skipped_rows = read_series(run_dir)
    return RunRecord(
        run_dir=run_dir,
        run_id=str(info.get("run_id") or run_dir.name),
        overrides=parse_overrides(overrides),
        config=read_yaml(run_dir / HYDRA_CONFIG, dict) or {},
        choices=settings.get("hydra", {}).get("runtime", {}).get("choices", {}),
        status=status,
        status_detail=detail,
        wall_time_s=wall_time_s(info, status, now) if "start_time" in info else info.get("wall_time_s"),
        series=series,
        latest_sample=latest_sample(run_dir),
        skipped_rows=skipped_rows,
        protocols=info.get("metrics_protocol"),
    )
