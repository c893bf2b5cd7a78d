"""Everything one genlab-compare invocation shows, gathered from the PATHs and options before anything is rendered."""
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from genlab.compare.discover import find_run_dirs
from genlab.compare.errors import CompareInputError, UnreadableRunError
from genlab.compare.grouping import (
    check_group_by,
    common_overrides,
    default_group_keys,
    differing_keys,
    distinct_values,
    group_runs,
    group_value,
)
from genlab.runs.liveness import utc_now
from genlab.compare.metric_choice import choose_metric, choose_mode, extra_metrics, metric_direction, train_loss_metric
from genlab.compare.overrides import SEED_KEY, format_value
from genlab.compare.protocols import protocol_difference
from genlab.compare.run_record import RunRecord, read_run
from genlab.compare.table import ComparisonTable, build_table

PROBLEM_STATUSES = ("failed", "interrupted", "dead")


@dataclass
class Comparison:
    """The runs (in table order), the ranking metric and direction, the table, what to note under it, and the run
    dirs skipped as unreadable with why."""

    run_dirs: list[Path]
    runs: list[RunRecord]
    labels: dict[str, str]
    row_labels: list[str]
    metric: str
    mode: str
    train_metric: str | None
    table: ComparisonTable
    common_overrides: list[str]
    notes: list[str]
    skipped: dict[Path, str]


def make_ids_unique(runs: list[RunRecord]) -> None:
    """Copies of one run (same run_id in two dirs) get suffixes, so every row, trace and sample is addressable."""
    seen: Counter = Counter()
    for run in runs:
        seen[run.run_id] += 1
        if seen[run.run_id] > 1:
            run.run_id = f"{run.run_id}-{seen[run.run_id]}"


def run_label(run: RunRecord, keys: list[str]) -> str:
    """`run_id key=value ...` over the keys that differ between runs."""
    return " ".join([run.run_id, *(f"{key}={format_value(run.value_of(key))}" for key in keys)])


def row_label(group: list[RunRecord], keys: list[str]) -> str:
    """A run's label, or for a group the values its runs share and how many they are: `model.lr=0.0002 (3 seeds)`."""
    if len(group) == 1:
        return run_label(group[0], keys)
    varying = [key for key in keys if len(distinct_values(group, key)) > 1]
    shared = [f"{key}={group_value(group, key)}" for key in keys if key not in varying]
    return " ".join([*shared, f"({len(group)} {'seeds' if varying == [SEED_KEY] else 'runs'})"])


def notes_for(runs: list[RunRecord]) -> list[str]:
    """One line per failed, interrupted or dead run: why."""
    return [f"{run.run_id} {run.status}: {run.status_detail or 'no error recorded'} ({run.run_dir})"
            for run in runs if run.status in PROBLEM_STATUSES]


def read_runs(run_dirs: list[Path]) -> tuple[list[RunRecord], dict[Path, str]]:
    """The readable runs, and {run dir: why} for each skipped (another person's run dir may hold binary or corrupt
    files); raises CompareInputError when no run is readable."""
    now = utc_now()
    runs, skipped = [], {}
    for run_dir in run_dirs:
        try:
            runs.append(read_run(run_dir, now))
        except UnreadableRunError as error:
            skipped[run_dir] = str(error)
    if not runs:
        raise CompareInputError(f"no run could be read: {'; '.join(skipped.values())}")
    return runs, skipped


def build_comparison(paths: list[str], metric: str | None = None, mode: str | None = None,
                     group_by: list[str] | None = None, no_group: bool = False,
                     allow_mixed_protocols: bool = False) -> Comparison:
    """Read the runs under `paths`, pick metric and mode, group, and lay out the table; raises CompareInputError,
    also when the metric is a sample-quality one measured under different protocols and that is not allowed."""
    run_dirs = find_run_dirs(paths)
    runs, skipped = read_runs(run_dirs)
    make_ids_unique(runs)
    metric = choose_metric(runs, metric)
    mode = choose_mode(runs, metric, mode)
    mixed = protocol_difference(runs, metric)
    if mixed and not allow_mixed_protocols:
        raise CompareInputError(f"runs measured {metric} under different protocols ({mixed}); their values do not "
                                "compare: pass --allow-mixed-protocols to rank them anyway")
    differing = differing_keys(runs)
    if group_by:
        check_group_by(runs, group_by)
    group_keys = None if no_group else (group_by or default_group_keys(runs))
    key_columns = list(dict.fromkeys([*(group_by or []), *differing]))
    metrics = [(metric, mode), *((name, metric_direction(name)) for name in extra_metrics(runs, metric))]
    table = build_table(group_runs(runs, group_keys), key_columns, metrics)
    ordered_runs = [run for group in table.groups for run in group]
    return Comparison(
        run_dirs=run_dirs,
        runs=ordered_runs,
        labels={run.run_id: run_label(run, differing) for run in ordered_runs},
        row_labels=[row_label(group, key_columns) for group in table.groups],
        metric=metric,
        mode=mode,
        train_metric=train_loss_metric(runs, metric),
        table=table,
        common_overrides=common_overrides(runs),
        notes=notes_for(ordered_runs) + ([f"ranked across differing {metric} protocols: {mixed}"] if mixed else []),
        skipped=skipped,
    )
