"""Which run dirs a genlab-compare PATH names (a run dir, a multirun dir or a task dir), and where the report goes."""
import os
from pathlib import Path

from genlab.compare.errors import CompareInputError
from genlab.runs.multirun_summary import SUMMARY_JSON
from genlab.runs.run_info import RUN_INFO_FILE

HYDRA_CONFIG = Path(".hydra") / "config.yaml"
MULTIRUN_CONFIG = "multirun.yaml"
TASK_SUBDIRS = ("runs", "multiruns")


def is_run_dir(path: Path) -> bool:
    """A run dir, or a multirun job dir: it has run_info.json, or at least Hydra's saved config."""
    return (path / RUN_INFO_FILE).is_file() or (path / HYDRA_CONFIG).is_file()


def is_multirun_dir(path: Path) -> bool:
    """A sweep dir: Hydra's multirun.yaml or genlab's multirun summary."""
    return (path / SUMMARY_JSON).is_file() or (path / MULTIRUN_CONFIG).is_file()


def is_task_dir(path: Path) -> bool:
    """`outputs/<task_name>`: holds runs/ or multiruns/."""
    return any((path / name).is_dir() for name in TASK_SUBDIRS)


def job_dirs(sweep_dir: Path) -> list[Path]:
    """A sweep's job dirs (0, 1, ...), by job number."""
    jobs = [path for path in sweep_dir.iterdir() if path.name.isdigit() and is_run_dir(path)]
    return sorted(jobs, key=lambda path: int(path.name))


def task_run_dirs(task_dir: Path) -> list[Path]:
    """A task's single runs (oldest first), then the jobs of each of its sweeps (oldest sweep first)."""
    runs_dir, sweeps_dir = (task_dir / name for name in TASK_SUBDIRS)
    singles = sorted(path for path in runs_dir.iterdir() if is_run_dir(path)) if runs_dir.is_dir() else []
    sweeps = sorted(path for path in sweeps_dir.iterdir() if path.is_dir()) if sweeps_dir.is_dir() else []
    return singles + [job for sweep in sweeps for job in job_dirs(sweep)]


def run_dirs_of(path: Path) -> list[Path]:
    """The run dirs one PATH names (a task's runs/ or multiruns/ too); raises CompareInputError naming a PATH that
    names none."""
    if not path.exists():
        raise CompareInputError(f"{path}: no such directory")
    if path.is_dir() and is_run_dir(path):
        return [path]
    if path.is_dir() and is_multirun_dir(path):
        found, kind = job_dirs(path), "multirun"
    elif path.is_dir() and is_task_dir(path):
        found, kind = task_run_dirs(path), "task"
    elif path.name in TASK_SUBDIRS and is_task_dir(path.parent):
        found, kind = [run for run in task_run_dirs(path.parent) if path in run.parents], path.name
    else:
        raise CompareInputError(
            f"{path} is not a run, multirun or task directory (a run dir holds {RUN_INFO_FILE} or {HYDRA_CONFIG}, "
            f"a multirun dir {SUMMARY_JSON} or {MULTIRUN_CONFIG}, a task dir runs/ or multiruns/)")
    if not found:
        raise CompareInputError(f"{path}: this {kind} directory holds no runs yet")
    return found


def find_run_dirs(paths: list[str]) -> list[Path]:
    """Every run dir the PATHs name, in the order given, each once."""
    found: dict[Path, Path] = {}
    for path in paths:
        for run_dir in run_dirs_of(Path(path)):
            found.setdefault(run_dir.resolve(), run_dir)
    return list(found.values())


def default_out_dir(run_dirs: list[Path]) -> Path:
    """The one multirun or task dir holding every run, else the current dir."""
    parent = Path(os.path.commonpath([run_dir.resolve().parent for run_dir in run_dirs]))
    if is_multirun_dir(parent) or is_task_dir(parent):
        return parent
    if parent.name in TASK_SUBDIRS and is_task_dir(parent.parent):
        return parent.parent
    return Path.cwd()
