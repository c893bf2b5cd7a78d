"""Runs a genlab Hydra app (train/eval/sample) over the project's config tree."""
import functools
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Callable

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from genlab.cli import errors
from genlab.cli.quiet import quiet_console
from genlab.config.compose import CONFIG_DIR
from genlab.config.resolvers import register_resolvers
from genlab.config.schema import register_schemas
from genlab.config.trusted_targets import add_user_module_dirs
from genlab.runs.run_info import RUN_INFO_FILE
from genlab.runs.sweep_resume import with_resumed_arguments


def remove_unstarted_run_dir(run_dir: Path) -> None:
    """Input rejected before the run started: drop the dir Hydra made for it (never one with run_info.json)."""
    if run_dir.is_dir() and not (run_dir / RUN_INFO_FILE).exists():
        shutil.rmtree(run_dir, ignore_errors=True)


def reporting_user_errors(task: Callable[[DictConfig], Any]) -> Callable[[DictConfig], Any]:
    """In a single run, print user errors as one line here (Hydra would add a line of its own)."""

    @functools.wraps(task)
    def run(cfg: DictConfig) -> Any:
        try:
            return task(cfg)
        except Exception as error:  # noqa: BLE001 - report_and_exit re-raises what is not a user error
            if HydraConfig.get().mode != RunMode.RUN or os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            if errors.one_line(error) is not None:
                remove_unstarted_run_dir(Path(HydraConfig.get().runtime.output_dir))
            errors.report_and_exit(error)

    return run


def run_app(config_name: str, task: Callable[[DictConfig], Any]) -> None:
    """Parse the command line with Hydra and run `task`; user errors exit 2 with one line."""
    if not CONFIG_DIR.is_dir():
        sys.exit(f"genlab: config tree not found at {CONFIG_DIR}; install genlab from its checkout (pip install -e .)")
    errors.install(config_name)
    quiet_console()
    register_resolvers()
    register_schemas()
    add_user_module_dirs()
    try:
        sys.argv = with_resumed_arguments(sys.argv)
    except Exception as error:  # a resumed dir's unreadable records: one line (anything else is re-raised)
        errors.report_and_exit(error)
    app = hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name=config_name)
    app(reporting_user_errors(task))()
