"""How a run is named on dashboards: a short name from its command-line overrides, its sweep as the group."""
from fnmatch import fnmatchcase
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from genlab.config.overrides import override_key

# Overrides that say where, how long or how a run is logged or evaluated, not what it trains: left out of its name.
UNNAMED_KEYS = ("paths.*", "hydra.*", "hydra/*", "logger*", "callbacks*", "metrics*", "debug", "tags", "resume",
                "ckpt_path", "trainer.limit_*", "trainer.log_every_n_steps")
MAX_NAME_LENGTH = 64


def job_overrides() -> list[str]:
    """This job's command-line overrides (`model.lr=0.0002`, ...); none outside a Hydra app."""
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def is_named(override: str) -> bool:
    return not any(fnmatchcase(override_key(override), pattern) for pattern in UNNAMED_KEYS)


def run_name(overrides: list[str], fallback: str) -> str | None:
    """`model.lr=0.0002,seed=2` from the overrides (at most 64 characters), else `fallback`; None for a resumed
    run, which keeps the name it was given when it started."""
    if any(override_key(override) == "resume" for override in overrides):
        return None
    name = ",".join(override.lstrip("+") for override in overrides if is_named(override))
    if len(name) > MAX_NAME_LENGTH:
        name = name[: MAX_NAME_LENGTH - 1] + "…"
    return name or fallback


def sweep_group(run_dir: str) -> str | None:
    """The multirun a job belongs to: its sweep dir's name (`<YYYY-MM-DD_HH-MM-SS>_<sweep id>`), read from Hydra
    in the job itself and from the run dir (`.../multiruns/<sweep>/<job>`) when it is resumed; None for a single run."""
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return Path(HydraConfig.get().sweep.dir).name
    run_dir = Path(run_dir)
    return run_dir.parent.name if run_dir.parent.parent.name == "multiruns" else None
