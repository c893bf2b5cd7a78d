"""Lightning's RichProgressBar taking in batches at most `refresh_rate` times a second instead of after every batch."""
import time

from lightning.pytorch import LightningModule, Trainer

from genlab.compat.lightning import RichProgressBarHooks


class ThrottledRichProgressBar(RichProgressBarHooks):
    """Lightning's RichProgressBar whose bars and metrics take in a finished batch at most `refresh_rate` times a
    second, and always at the last batch of an epoch or a validation.

    Lightning updates the bar, reads the progress-bar metrics and asks its drawing thread for a redraw after every
    batch, a few percent of a small model's step (docs/benchmarks.md).
    Between two updates the drawn bar lags by the batches of at most 1/refresh_rate seconds. A disabled bar (ranks
    > 0) hands every batch to Lightning, which ignores it, without reading a batch total: only an enabled bar tracks
    the current validation dataloader.
    """

    def __init__(self, refresh_rate: int = 10, **kwargs) -> None:
        super().__init__(refresh_rate=refresh_rate, **kwargs)
        self._next_update = 0.0

    def _due(self, batch_idx: int, total: float) -> bool:
        """Whether batch `batch_idx` of `total` updates the bar: the last one always, others once per interval."""
        now = time.monotonic()
        if batch_idx + 1 >= total or now >= self._next_update:
            self._next_update = now + 1.0 / max(self.refresh_rate, 1)
            return True
        return False

    def epoch_description(self, current_epoch: int) -> str:
        """Lightning's "Epoch 3/9", but "Epoch 3" for a run bounded by steps alone (it says "Epoch 3/-2")."""
        if self.trainer.max_epochs is not None and self.trainer.max_epochs >= 0:
            return super().epoch_description(current_epoch)
        return f"{f'Epoch {current_epoch}':{len(self.validation_description)}}"

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        if self.is_disabled or self._due(batch_idx, self.total_train_batches):
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)

    def on_validation_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int,
                                dataloader_idx: int = 0) -> None:
        if self.is_disabled or self._due(batch_idx, self.total_val_batches_current_dataloader):
            super().on_validation_batch_end(trainer, pl_module, outputs, batch, batch_idx, dataloader_idx)
