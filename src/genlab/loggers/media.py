"""Send images and texts to whichever loggers can show them (TensorBoard, wandb); the CSV logger cannot."""
import numpy as np


def log_image(loggers, key: str, image: np.ndarray, step: int) -> None:
    """Log a uint8 (H, W, C) image under `key` to every logger that displays images."""
    from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(key, image, global_step=step, dataformats="HWC")
        elif isinstance(logger, WandbLogger):
            logger.log_image(key=key, images=[image], step=step)


def log_text(loggers, key: str, texts: list[str], step: int) -> None:
    """Log generated texts under `key` to every logger that displays text."""
    from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            for index, text in enumerate(texts):
                logger.experiment.add_text(f"{key}/{index}", f"```\n{text}\n```", global_step=step)
        elif isinstance(logger, WandbLogger):
            logger.log_text(key=key, columns=["sample"], data=[[text] for text in texts], step=step)
