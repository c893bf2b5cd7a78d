"""Send sample images and texts to whichever loggers can show them (TensorBoard, wandb, MLflow); CSV cannot."""
import numpy as np

TEXT_SEPARATOR = "\n" + "-" * 40 + "\n"


def joined_text(texts: list[str]) -> str:
    """Several generated texts as one file's contents."""
    return TEXT_SEPARATOR.join(texts)


def mark_restart(logger, step: int) -> None:
    """A resumed TensorBoardRun marks its restart before its first event, whichever kind that is."""
    if hasattr(logger, "mark_restart"):
        logger.mark_restart(step)


def log_image(loggers, key: str, image: np.ndarray, step: int) -> None:
    """Log a uint8 (H, W, C) image under `key`: a TensorBoard image, a wandb image, an MLflow artifact PNG."""
    from lightning.pytorch.loggers import MLFlowLogger, TensorBoardLogger, WandbLogger

    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            mark_restart(logger, step)
            logger.experiment.add_image(key, image, global_step=step, dataformats="HWC")
        elif isinstance(logger, WandbLogger):
            logger.log_image(key=key, images=[image], step=step)
        elif isinstance(logger, MLFlowLogger):
            logger.experiment.log_image(logger.run_id, image, artifact_file=f"{key}/step_{step:06d}.png")


def log_text(loggers, key: str, texts: list[str], step: int) -> None:
    """Log generated texts under `key`: one TensorBoard text per step, a wandb table, an MLflow artifact file."""
    from lightning.pytorch.loggers import MLFlowLogger, TensorBoardLogger, WandbLogger

    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            mark_restart(logger, step)
            markdown = "\n\n---\n\n".join(f"```\n{text}\n```" for text in texts)
            logger.experiment.add_text(key, markdown, global_step=step)
        elif isinstance(logger, WandbLogger):
            logger.log_text(key=key, columns=["sample"], data=[[text] for text in texts], step=step)
        elif isinstance(logger, MLFlowLogger):
            logger.experiment.log_text(logger.run_id, joined_text(texts), artifact_file=f"{key}/step_{step:06d}.txt")
