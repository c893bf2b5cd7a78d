"""What genlab's dashboard loggers add to Lightning's: they take the run's resolved config, and close the run."""
from collections.abc import Mapping


class RunLogger:
    """Mixin for a Lightning logger: `build_loggers` hands it the resolved config, `finish_loggers` ends its run."""

    def log_run_config(self, config: dict) -> None:
        """Record the run's resolved config (plain containers)."""

    def finish_run(self) -> None:
        """Close the run at the end of the job, whether it completed or failed."""


def flat_params(config: Mapping, prefix: str = "") -> dict[str, str | int | float | bool]:
    """`{"model": {"lr": 1e-4}}` → `{"model/lr": 1e-4}`: scalars kept, None and lists as text, `_target_`-style
    keys left out (they name classes, not hyper-parameters)."""
    flat = {}
    for key, value in config.items():
        if str(key).startswith("_"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat |= flat_params(value, prefix=f"{name}/")
        elif isinstance(value, (bool, int, float, str)):
            flat[name] = value
        else:
            flat[name] = str(value)
    return flat

