"""Training-step logging only on the steps Lightning writes to the loggers (every `trainer.log_every_n_steps`).

`self.log` costs about as much as a small layer even on steps whose values no logger ever sees; the train metrics are logged with on_step only, so skipping those
steps changes no logged value. The progress bar then shows the last logged step's losses.
"""
from lightning.pytorch import LightningModule

from genlab.compat import lightning as compat


def logs_this_step(module: LightningModule) -> bool:
    """Whether this training step's logged values reach the loggers (always outside a Trainer)."""
    trainer = compat.attached_trainer(module)
    return trainer is None or compat.logs_this_step(trainer)
