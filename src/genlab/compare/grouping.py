"""Rows of the comparison: runs that differ only by seed (or only outside --group-by's keys) share one row."""
from genlab.compare.errors import CompareInputError
from genlab.compare.overrides import SEED_KEY, UNSET, format_value, is_noise
from genlab.compare.run_record import RunRecord


def override_keys(runs: list[RunRecord]) -> list[str]:
    """Every key some run overrides, in first-seen order."""
    return list(dict.fromkeys(key for run in runs for key in run.overrides))


def differing_keys(runs: list[RunRecord]) -> list[str]:
    """Overridden keys whose value is not the same in every run (noise keys such as paths.* left out)."""
    return [key for key in override_keys(runs) if not is_noise(key)
            and len({format_value(run.value_of(key)) for run in runs}) > 1]


def common_overrides(runs: list[RunRecord]) -> list[str]:
    """`key=value` for the overrides every run shares (the context the table's columns vary in)."""
    shared = [key for key in override_keys(runs) if not is_noise(key) and all(key in run.overrides for run in runs)
              and len({format_value(run.overrides[key]) for run in runs}) == 1]
    return [f"{key}={format_value(runs[0].overrides[key])}" for key in shared]


def check_group_by(runs: list[RunRecord], keys: list[str]) -> None:
    """Every --group-by key must be set (by an override or the composed config) in some run."""
    for key in keys:
        if all(run.value_of(key) is UNSET for run in runs):
            raise CompareInputError(f"unknown --group-by key '{key}': no run sets it; keys that differ between these "
                                    f"runs: {', '.join(differing_keys(runs)) or 'none'}")


def group_runs(runs: list[RunRecord], keys: list[str] | None) -> list[list[RunRecord]]:
    """Runs with equal values for `keys` in one group (first-seen order); `keys=None`: every run alone."""
    if keys is None:
        return [[run] for run in runs]
    groups: dict[tuple[str, ...], list[RunRecord]] = {}
    for run in runs:
        groups.setdefault(tuple(format_value(run.value_of(key)) for key in keys), []).append(run)
    return list(groups.values())


def default_group_keys(runs: list[RunRecord]) -> list[str]:
    """Everything that differs except the seed: seeds of one configuration share a row."""
    return [key for key in differing_keys(runs) if key != SEED_KEY]


def distinct_values(group: list[RunRecord], key: str) -> list[str]:
    """A key's formatted values across a group, each once, in run order."""
    return list(dict.fromkeys(format_value(run.value_of(key)) for run in group))


def group_value(group: list[RunRecord], key: str) -> str:
    """A key's value across a group: one value, or the distinct values (seeds: "1, 2, 3")."""
    return ", ".join(distinct_values(group, key))
