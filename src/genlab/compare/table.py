"""The comparison table as plain cells (text and sort key), rendered by both the console and the HTML report."""
import math
from collections import Counter
from dataclasses import dataclass

from genlab.compare.formatting import format_duration, format_mean_std, mean_or_none
from genlab.compare.grouping import group_value
from genlab.compare.run_record import RunRecord


@dataclass
class Cell:
    text: str
    sort_value: float | str | None = None


@dataclass
class ComparisonTable:
    """Columns, and one row of cells per group of runs (`groups[i]` are the runs behind `rows[i]`)."""

    columns: list[str]
    rows: list[list[Cell]]
    groups: list[list[RunRecord]]


def best_and_final(run: RunRecord, metric: str, mode: str) -> tuple[float | None, float | None]:
    """Best (min or max over finite logged values) and final (last logged) value of `metric` in one run."""
    points = run.series.get(metric, [])
    finite = [value for _, value in points if math.isfinite(value)]
    best = (min if mode == "min" else max)(finite) if finite else None
    return best, (points[-1][1] if points else None)


def metric_cells(group: list[RunRecord], metric: str, mode: str) -> list[Cell]:
    """Best and final cells: mean ± std over the group's runs that logged `metric`, "(k/n runs)" when some did not."""
    logged = [best_and_final(run, metric, mode) for run in group if metric in run.series]
    partial = f" ({len(logged)}/{len(group)} runs)" if logged and len(logged) < len(group) else ""
    cells = []
    for values in ([best for best, _ in logged if best is not None], [final for _, final in logged]):
        cells.append(Cell(format_mean_std(values) + partial if values else "", mean_or_none(values)))
    return cells


def status_cell(group: list[RunRecord]) -> Cell:
    """One status, or how many runs are in each: "2 completed, 1 dead"."""
    counts = Counter(run.status for run in group)
    text = group[0].status if len(counts) == 1 else ", ".join(f"{n} {status}" for status, n in counts.items())
    return Cell(text, text)


def steps_cell(group: list[RunRecord]) -> Cell:
    """The last logged step, or its range across the group's runs."""
    steps = [run.last_step for run in group if run.last_step is not None]
    if not steps:
        return Cell("")
    return Cell(str(steps[0]) if min(steps) == max(steps) else f"{min(steps)}–{max(steps)}", max(steps))


def wall_time_cell(group: list[RunRecord]) -> Cell:
    """The mean wall time of the group's runs."""
    mean = mean_or_none([run.wall_time_s for run in group if run.wall_time_s is not None])
    return Cell(format_duration(mean), mean)


def build_table(groups: list[list[RunRecord]], key_columns: list[str],
                metrics: list[tuple[str, str]]) -> ComparisonTable:
    """Rows sorted by the first metric's best value in its (metric, mode) direction; runs without it last."""
    show_count = any(len(group) > 1 for group in groups)
    columns = ["run", *key_columns, "status", *(["n"] if show_count else [])]
    columns += [f"{metric} {which}" for metric, _ in metrics for which in ("best", "final")]
    columns += ["steps", "wall time"]
    rows = []
    for group in groups:
        ids = ", ".join(run.run_id for run in group)
        row = [Cell(ids, ids), *(Cell(text, text) for text in (group_value(group, key) for key in key_columns))]
        row += [status_cell(group), *([Cell(str(len(group)), len(group))] if show_count else [])]
        row += [cell for metric, mode in metrics for cell in metric_cells(group, metric, mode)]
        rows.append(row + [steps_cell(group), wall_time_cell(group)])
    ranked_column = columns.index(f"{metrics[0][0]} best")
    sign = 1 if metrics[0][1] == "min" else -1
    order = sorted(range(len(rows)), key=lambda i: (rows[i][ranked_column].sort_value is None,
                                                    sign * (rows[i][ranked_column].sort_value or 0.0)))
    return ComparisonTable(columns, [rows[i] for i in order], [groups[i] for i in order])
