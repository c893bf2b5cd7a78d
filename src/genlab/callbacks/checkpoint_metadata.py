"""Makes every checkpoint self-describing: resolved config, data description, genlab version, run_id."""
from lightning.pytorch import Callback, LightningModule, Trainer

import genlab


class CheckpointMetadata(Callback):
    """Adds `checkpoint["genlab"]` (plain Python containers only, loadable with weights_only=True)."""

    def __init__(self, config: dict, run_id: str):
        self.config = config
        self.run_id = run_id
        self._data_description: dict | None = None

    def on_save_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict) -> None:
        if self._data_description is None and trainer.datamodule is not None:
            self._data_description = trainer.datamodule.describe()
        model_class = type(pl_module)
        checkpoint["genlab"] = {
            "version": genlab.__version__,
            "run_id": self.run_id,
            "model_class": f"{model_class.__module__}.{model_class.__qualname__}",
            "config": self.config,
            "data": self._data_description or {},
        }
