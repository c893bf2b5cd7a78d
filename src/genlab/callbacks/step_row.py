"""Step checkpoints carry the metrics row Lightning logs right after them, so a resumed run's metrics.csv has it.

Lightning saves step checkpoints in `on_train_batch_end` and writes that batch's logged row only after every callback
has run: a run killed between the two and resumed from that checkpoint never logged the row. The row goes into the
checkpoint; on resume, metrics.csv gets it when it lacks it (`genlab.loggers.run_csv`).
"""
from lightning.fabric.utilities.apply_func import convert_tensors_to_scalars
from lightning.pytorch import Callback, LightningModule, Trainer

from genlab.compat import lightning as compat

CHECKPOINT_KEY = "genlab_step_row"


class StepRowInCheckpoint(Callback):
    """Saves the pending row of the batch a checkpoint is written at; hands a restored one to genlab's CSV logger."""

    def on_save_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict) -> None:
        row = pending_step_row(trainer)
        if row is not None:
            checkpoint[CHECKPOINT_KEY] = row

    def on_load_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict) -> None:
        from genlab.loggers.run_csv import RunCSVLogger

        row = checkpoint.get(CHECKPOINT_KEY)
        for logger in trainer.loggers if row else []:
            if isinstance(logger, RunCSVLogger):
                logger.experiment.unlogged_row = row


def pending_step_row(trainer: Trainer) -> dict | None:
    """The row Lightning logs after the `on_train_batch_end` now running (as its logger connector would: the logged
    step values, the epoch, at the batch's logger step), or None outside one or on a step that logs nothing."""
    if not trainer.training or not compat.batch_ended_unlogged(trainer):
        return None
    if compat.accumulating(trainer) and trainer.lightning_module.automatic_optimization:
        return None
    if not (compat.logs_this_step(trainer) or trainer.fast_dev_run):
        return None
    metrics = convert_tensors_to_scalars(compat.pending_log_metrics(trainer))
    if not metrics:
        return None
    return {"step": compat.logger_step(trainer), "metrics": {"epoch": trainer.current_epoch, **metrics}}
