"""Saves torch's RNG states in every checkpoint and restores them before the first resumed batch: a resumed run draws
the same noise, dropout masks and binarizations as an uninterrupted one."""
import torch
from lightning.pytorch import Callback, LightningModule, Trainer


class RNGState(Callback):
    """checkpoint["rng_states"] = {"torch": CPU state, "cuda": this device's state or None}; restored at the next batch."""

    def __init__(self) -> None:
        self._pending: dict | None = None

    def on_save_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict) -> None:
        device = pl_module.device
        cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
        checkpoint["rng_states"] = {"torch": torch.get_rng_state(), "cuda": cuda}

    def on_load_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict) -> None:
        self._pending = checkpoint.get("rng_states")

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch, batch_idx: int) -> None:
        # restored here, not at load time: setup, sanity checks and loader creation in between must not shift it
        if self._pending is None:
            return
        torch.set_rng_state(self._pending["torch"])
        if self._pending["cuda"] is not None and pl_module.device.type == "cuda":
            torch.cuda.set_rng_state(self._pending["cuda"], pl_module.device)
        self._pending = None
