"""Validates after the last training step when no validation would follow it (a run of `max_steps` that ends
mid-epoch, e.g. a language model's 200 steps of a 250-batch epoch): its last val metrics, samples and best
checkpoint then describe the trained model, not an older one or none."""
from lightning.pytorch import Callback, LightningModule, Trainer

from genlab.compat.lightning import validation_follows


class FinalValidation(Callback):
    """At the step that reaches `trainer.max_steps`, asks Lightning to stop there, which validates once more."""

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        last_step = 0 < trainer.max_steps <= trainer.global_step
        if last_step and trainer.enable_validation and not validation_follows(trainer):
            trainer.should_stop = True  # Lightning validates before a stop it may make early: training ends here
            trainer.fit_loop.min_epochs = 0  # anyway, so a configured trainer.min_epochs has nothing to hold back
