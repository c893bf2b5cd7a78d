"""Hydra sweeper plugin behind `hydra/sweeper=genlab_optuna` (see genlab.runs.resumable_optuna).

Hydra imports every module here at start-up, so this one stays light: optuna is imported when a sweep begins.
"""
from typing import Any

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class GenlabOptunaSweeper(Sweeper):
    """hydra-optuna-sweeper's interface and config, with a persistent, resumable study."""

    def __init__(self, **settings: Any) -> None:
        from genlab.runs.resumable_optuna import ResumableOptunaSweep

        self.sweeper = ResumableOptunaSweep(**settings)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.sweeper.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> None:
        return self.sweeper.sweep(arguments)
