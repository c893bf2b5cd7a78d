"""Per-metric (step, value) series from a run's Lightning metrics.csv, whose rows hold only what one call logged."""
import csv
from pathlib import Path

from genlab.compare.errors import unreadable_file

METRICS_FILE = "metrics.csv"
NON_METRIC_COLUMNS = ("step", "epoch")

Series = list[tuple[int, float]]


def read_series(run_dir: Path) -> tuple[dict[str, Series], int]:
    """({metric name: [(step, value), ...] in logged order}, number of rows skipped); empty without a metrics.csv;
    raises UnreadableRunError for a file that is not UTF-8 CSV.

    Rows whose step is not a whole finite number (nan, inf, 1.5 name no step) and unparsable cells (a line cut short
    by a killed process) are skipped; nan/inf values are kept (a diverged run shows it).
    """
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return {}, 0
    series: dict[str, Series] = {}
    skipped_rows = 0
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                step = parse_float(row.get("step"))
                if step is None or not step.is_integer():
                    skipped_rows += 1
                    continue
                for name, cell in row.items():
                    value = parse_float(cell) if name and name not in NON_METRIC_COLUMNS else None
                    if value is not None:
                        series.setdefault(name, []).append((int(step), value))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise unreadable_file(path, error, "CSV") from error
    return series, skipped_rows


def parse_float(cell: object) -> float | None:
    if not isinstance(cell, str) or not cell:
        return None
    try:
        return float(cell)
    except ValueError:
        return None
