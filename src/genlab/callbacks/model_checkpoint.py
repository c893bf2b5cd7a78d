"""Lightning's ModelCheckpoint, with step-interval `last.ckpt` saves that never wait for the monitored metric."""
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint


class RunCheckpoint(ModelCheckpoint):
    """Lightning 2.6 defers an `every_n_train_steps` save until the monitored metric exists (the next validation),
    so a crash before the first validation left no checkpoint at all; this one writes last.ckpt on time anyway."""

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args, **kwargs) -> None:
        super().on_train_batch_end(trainer, pl_module, *args, **kwargs)
        due = self._every_n_train_steps >= 1 and trainer.global_step % self._every_n_train_steps == 0
        if due and self.save_last and self._defer_save_until_validation and not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
