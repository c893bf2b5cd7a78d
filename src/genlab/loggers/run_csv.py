"""The always-on `<run_dir>/metrics.csv`: written at every log call, continued (never deleted) when a run resumes."""
import csv
import io
import os

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger

from genlab.compat.lightning import ExperimentWriterHooks, created_experiment, logger_filesystem, set_experiment
from genlab.runs.atomic import write_atomic


class AppendingExperimentWriter(ExperimentWriterHooks):
    """Keeps an existing metrics.csv (Lightning's writer deletes it). When `resumed`, the first new row's step drops
    the old rows from that step on: those were logged after the checkpoint the run resumes from (a crash or a kill
    after it), and the resumed run logs them again. `unlogged_row` (from the checkpoint, see
    genlab.callbacks.step_row) is the row of the checkpoint's own batch, added then if the killed run never wrote it."""

    def __init__(self, log_dir: str, resumed: bool = False) -> None:
        self.resumed, self.unlogged_row = resumed, None
        super().__init__(log_dir=log_dir)

    def take_existing_file(self) -> None:
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as handle:
                self.metrics_keys = list(csv.DictReader(handle).fieldnames or [])

    def log_metrics(self, metrics_dict: dict, step: int | None = None) -> None:
        if self.resumed and step is not None:
            self.resumed = False
            kept = self._drop_rows_from(step)
            self._add_unlogged_row(kept)
        super().log_metrics(metrics_dict, step)

    def _add_unlogged_row(self, rows: list[dict]) -> None:
        """Queue `unlogged_row` unless `rows` (metrics.csv's) hold a row at its step with all of its values."""
        row, self.unlogged_row = self.unlogged_row, None
        if row is not None and not any(has_values_at(old, row["step"], row["metrics"]) for old in rows):
            super().log_metrics(row["metrics"], row["step"])

    def _drop_rows_from(self, step: int) -> list[dict]:
        """Atomically rewrite metrics.csv without the rows at `step` or later; return the rows it keeps."""
        if not os.path.isfile(self.metrics_file_path):
            return []
        with open(self.metrics_file_path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        kept = [row for row in rows if not row.get("step") or float(row["step"]) < step]
        if len(kept) < len(rows):
            self._write_rows(kept, self.metrics_keys)
        return kept

    def rewrite_with_header(self, fieldnames: list[str]) -> None:
        """New columns: rewrite the file with the wider header, atomically (Lightning rewrites it in place)."""
        with open(self.metrics_file_path, newline="") as handle:
            self._write_rows(list(csv.DictReader(handle)), fieldnames)

    def _write_rows(self, rows: list[dict], fieldnames: list[str]) -> None:
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
        write_atomic(self.metrics_file_path, text.getvalue().encode())


def has_values_at(row: dict, step: int, metrics: dict) -> bool:
    """Whether a metrics.csv row is at `step` and holds a value for every key of `metrics`."""
    at_step = bool(row.get("step")) and float(row["step"]) == step
    return at_step and all(row.get(key) not in (None, "") for key in metrics)


class RunCSVLogger(CSVLogger):
    """CSVLogger writing `metrics.csv` directly into the run dir, flushed at every log call (a killed run loses no
    rows); `resumed=True` for a run continuing from a checkpoint."""

    def __init__(self, run_dir: str, resumed: bool = False):
        super().__init__(save_dir=run_dir, name="", version="", flush_logs_every_n_steps=1)
        self.resumed = resumed

    @property
    @rank_zero_experiment
    def experiment(self) -> AppendingExperimentWriter:
        if created_experiment(self) is None:
            logger_filesystem(self).makedirs(self.root_dir, exist_ok=True)
            set_experiment(self, AppendingExperimentWriter(log_dir=self.log_dir, resumed=self.resumed))
        return created_experiment(self)
