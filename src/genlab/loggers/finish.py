"""Closing a run's loggers at the end of its job."""
from lightning.pytorch.loggers import Logger, WandbLogger

from genlab.compat.lightning import created_experiment
from genlab.loggers.run_logger import RunLogger


def finish_loggers(loggers: list[Logger]) -> None:
    """Close logger runs at the end of every job, each even if another fails: TensorBoard's hparams get the final
    metrics, wandb runs finish (a wandb run left open is reused by the next job of a multirun)."""
    errors = []
    for logger in loggers:
        try:
            if isinstance(logger, RunLogger):
                logger.finish_run()
            elif isinstance(logger, WandbLogger) and created_experiment(logger) is not None:
                logger.experiment.finish()
        except Exception as error:  # noqa: BLE001 - re-raised below once every logger is closed
            errors.append(error)
    if errors:
        raise errors[0]
