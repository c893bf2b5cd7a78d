"""Writes samples each N epochs: a fixed-noise image grid `samples/epoch_XXX.png`, or LM texts `samples/step_XXXXXX.txt`."""
from pathlib import Path

import numpy as np
from lightning.pytorch import Callback, LightningModule, Trainer

from genlab.images import make_grid, save_png
from genlab.loggers.media import joined_text, log_image, log_text
from genlab.runs.atomic import write_atomic


class SampleLogger(Callback):
    """Calls `pl_module.sample(num_samples, seed=seed)` after validation, on rank 0, and sends the result to every
    logger that shows media (TensorBoard, wandb, MLflow: see genlab.loggers.media)."""

    def __init__(self, dirpath: str, num_samples: int = 64, every_n_epochs: int = 1, seed: int = 0):
        self.dirpath = Path(dirpath)
        self.num_samples = num_samples
        self.every_n_epochs = every_n_epochs
        self.seed = seed

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or not hasattr(pl_module, "sample"):
            return
        if (trainer.current_epoch + 1) % self.every_n_epochs:
            return
        samples = pl_module.sample(self.num_samples, seed=self.seed)
        if isinstance(samples, np.ndarray):
            grid = make_grid(samples)
            save_png(grid, self.dirpath / f"epoch_{trainer.current_epoch:03d}.png")
            log_image(trainer.loggers, "samples", grid, step=trainer.global_step)
        else:
            write_atomic(self.dirpath / f"step_{trainer.global_step:06d}.txt", joined_text(samples).encode())
            log_text(trainer.loggers, "samples", samples, step=trainer.global_step)
