"""Writes a fixed-noise sample grid to `samples/epoch_XXX.png` and to every image logger each N epochs."""
from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer

from genlab.loggers.media import log_image
from genlab.images import make_grid, save_png


class SampleLogger(Callback):
    """Calls `pl_module.sample(num_samples, seed=seed)` after validation, on rank 0 only."""

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
        grid = make_grid(pl_module.sample(self.num_samples, seed=self.seed))
        save_png(grid, self.dirpath / f"epoch_{trainer.current_epoch:03d}.png")
        log_image(trainer.loggers, "samples", grid, step=trainer.global_step)
