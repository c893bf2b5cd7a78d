"""Per-optimizer-step learning-rate schedules shared by the model families (Lightning `interval: step`).

A schedule is a warmup in steps, then a shape over the run's progress in [0, 1]: cosine (nanoGPT's) or
warmup-stable-decay (flat, then a linear cooldown). Progress counts optimizer steps, or wall-clock time when the run
is bounded by `trainer.max_time`, so the rate reaches its floor exactly when the budget ends.
"""
import math
from collections.abc import Callable

import torch
from lightning.pytorch.callbacks import Timer

from genlab.errors import ConfigError

SCHEDULES = ("cosine", "wsd")


def cosine(min_ratio: float) -> Callable[[float], float]:
    """Half a cosine from 1 to `min_ratio` over progress 0 → 1."""
    return lambda progress: min_ratio + 0.5 * (1.0 + math.cos(math.pi * progress)) * (1.0 - min_ratio)


def stable_then_linear(min_ratio: float, cooldown_fraction: float) -> Callable[[float], float]:
    """1 until the last `cooldown_fraction` of the run, then linearly down to `min_ratio` (warmup-stable-decay)."""
    def shape(progress: float) -> float:
        remaining = 1.0 - progress
        return 1.0 if remaining >= cooldown_fraction else min_ratio + (1.0 - min_ratio) * remaining / cooldown_fraction

    return shape


def with_warmup(warmup_steps: int, shape: Callable[[float], float], progress: Callable[[int], float]):
    """LR multiplier per step: linear warmup over `warmup_steps`, then `shape` of the run's progress (clamped to 1)."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        return shape(min(1.0, max(0.0, progress(step))))

    return factor


def step_progress(warmup_steps: int, decay_steps: int) -> Callable[[int], float]:
    """The share of the post-warmup steps done, reaching 1 at `decay_steps`."""
    return lambda step: (step - warmup_steps) / max(1, decay_steps - warmup_steps)


def warmup_cosine(warmup_steps: int, decay_steps: int, min_ratio: float = 0.0, decay: bool = True):
    """LR multiplier per step (nanoGPT's): linear warmup, cosine decay to `min_ratio` at `decay_steps`, then flat."""
    return with_warmup(warmup_steps, cosine(min_ratio) if decay else lambda progress: 1.0,
                       step_progress(warmup_steps, decay_steps))


def total_optimizer_steps(trainer, key: str) -> int:
    """The run's optimizer steps (max_steps, or epochs x batches / accumulation); one-line error when unbounded."""
    total = trainer.estimated_stepping_batches
    if not math.isfinite(total):
        raise ConfigError(f"{key} needs a finite run: set trainer.max_steps or trainer.max_epochs")
    return int(total)


def time_budget(trainer) -> Timer | None:
    """Lightning's Timer when the run is bounded by `trainer.max_time` (it counts time across resumes)."""
    return next((callback for callback in trainer.callbacks
                 if isinstance(callback, Timer) and callback.time_remaining("train") is not None), None)


def run_progress(trainer, warmup_steps: int, decay_steps: int | None, key: str) -> Callable[[int], float]:
    """The run's progress at a step: by `decay_steps` when given; otherwise the further along of the step budget
    (max_steps / max_epochs) and the time budget (max_time), whichever of them bound the run."""
    if decay_steps is not None:
        return step_progress(warmup_steps, decay_steps)
    timer = time_budget(trainer)
    steps = trainer.estimated_stepping_batches
    if timer is None:
        if not math.isfinite(steps):
            raise ConfigError(f"{key} needs a bounded run: set trainer.max_steps, trainer.max_epochs or trainer.max_time")
        return step_progress(warmup_steps, int(steps))
    by_steps = step_progress(warmup_steps, int(steps)) if math.isfinite(steps) else lambda step: 0.0

    def progress(step: int) -> float:
        elapsed = timer.time_elapsed("train")
        return max(by_steps(step), elapsed / (elapsed + timer.time_remaining("train")))

    return progress


def per_step(optimizer: torch.optim.Optimizer, factor) -> dict:
    """Lightning's optimizer config with `factor` as a LambdaLR stepped after every optimizer step."""
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
