"""Stops a run at the first non-finite loss, naming the loss and step; the last good checkpoint stays."""
import math

from lightning.pytorch import Callback, LightningModule, Trainer

from genlab.errors import DivergenceError


class DivergenceGuard(Callback):
    """Checks every loss a training step returns (a tensor, or a dict of named tensors)."""

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        losses = outputs if isinstance(outputs, dict) else {"loss": outputs}
        for name, value in losses.items():
            if value is not None and value.numel() == 1 and not math.isfinite(float(value)):
                raise DivergenceError(
                    f"training diverged: train/{name} = {float(value)} at step {trainer.global_step}"
                    " (the last good checkpoint is kept)"
                )
