"""Per-optimizer-step learning-rate schedules shared by the model families (Lightning `interval: step`)."""
import math

import torch

from genlab.errors import ConfigError


def warmup_cosine(warmup_steps: int, decay_steps: int, min_ratio: float = 0.0, decay: bool = True):
    """LR multiplier per step (nanoGPT's): linear warmup, cosine decay to `min_ratio` at `decay_steps`, then flat."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        if not decay:
            return 1.0
        progress = min(1.0, (step - warmup_steps) / max(1, decay_steps - warmup_steps))
        return min_ratio + 0.5 * (1.0 + math.cos(math.pi * progress)) * (1.0 - min_ratio)

    return factor


def total_optimizer_steps(trainer, key: str) -> int:
    """The run's optimizer steps (max_steps, or epochs x batches / accumulation); one-line error when unbounded."""
    total = trainer.estimated_stepping_batches
    if not math.isfinite(total):
        raise ConfigError(f"{key} needs a finite run: set trainer.max_steps or trainer.max_epochs")
    return int(total)


def per_step(optimizer: torch.optim.Optimizer, factor) -> dict:
    """Lightning's optimizer config with `factor` as a LambdaLR stepped after every optimizer step."""
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
