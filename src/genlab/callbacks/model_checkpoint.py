"""Lightning's ModelCheckpoint, with step-interval saves that land on time and at points a resume can repeat exactly."""
from pathlib import Path

from lightning.pytorch import LightningModule, Trainer

from genlab.compat.lightning import ModelCheckpointHooks, validation_follows


class RunCheckpoint(ModelCheckpointHooks):
    """Three fixes to Lightning 2.6's saves, found by killing runs (scripts/fault_injection.py), and the temp files of
    a save that a kill interrupted removed when the run resumes:
    - Lightning defers an `every_n_train_steps` save until the monitored metric exists (the next validation), so a
      crash before the first validation left no checkpoint at all; this one writes last.ckpt on time anyway.
    - A step save due at a batch that a validation follows is taken at the end of that validation: resuming from a
      checkpoint written before it, Lightning counts the validation as done, so a run killed during it never logged
      its metrics, samples or FID and, its RNG no longer advanced by it, diverged from an uninterrupted run.
    - Epoch saves are taken at the end of the epoch's validation too, not at the epoch's end: in step-bounded runs
      (max_epochs=-1, the LMs) Lightning resumes an epoch-end checkpoint one logger step ahead (every later row of
      metrics.csv shifted by one). Without validation they stay at the epoch's end."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._save_after_validation = False

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        if trainer.is_global_zero and self.dirpath:  # temp files of writes a killed process left unfinished
            for partial in Path(self.dirpath).glob(".*.ckpt.*.tmp"):
                partial.unlink(missing_ok=True)

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args, **kwargs) -> None:
        due = self.every_n_train_steps >= 1 and trainer.global_step % self.every_n_train_steps == 0
        if due and validation_follows(trainer):
            self._save_after_validation = True
            return
        super().on_train_batch_end(trainer, pl_module, *args, **kwargs)
        if due and self.save_last and self.save_deferred_until_validation and not self.skips_saving(trainer):
            self.save_now(trainer, top_k=False)
            self.save_deferred_until_validation = False  # saved: no extra, off-interval save at the validation's end

    def saves_at_train_epoch_end(self, trainer: Trainer) -> bool:
        if self.save_on_train_epoch_end_setting is not None:  # set by the user
            return self.save_on_train_epoch_end_setting
        val_batches = trainer.num_val_batches
        return not trainer.enable_validation or not sum(val_batches if isinstance(val_batches, list) else [val_batches])

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if self._save_after_validation and not trainer.sanity_checking:
            self._save_after_validation = False
            if not self.skips_saving(trainer):  # skipped when Lightning's own save just ran
                self.save_now(trainer)
