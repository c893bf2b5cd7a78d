"""Stops a run at the first non-finite loss or parameter, naming it and the step; the last good checkpoint stays."""
import math
from typing import NoReturn

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch.nn.utils import get_total_norm

from genlab.errors import DivergenceError
from genlab.models.step_logging import logs_this_step


class DivergenceGuard(Callback):
    """Checks every loss a training step returns (a tensor, or a dict of named tensors), and the parameters.

    The loss check runs every step, before checkpointing (Lightning calls ModelCheckpoint callbacks last), so a step
    that diverges is never saved. A module may map its loss names to the network they train (`loss_networks`, e.g. a
    GAN's {"d_loss": "discriminator"}), and the message names that network too. The parameter check catches a finite
    loss whose backward overflowed: one norm over the parameters (a pass over every weight, so not every step) on
    logging steps and before every checkpoint is written, or every step when a checkpoint callback saves weights only
    (those saves skip `on_save_checkpoint`); a search for the culprit only on failure.
    """

    def __init__(self) -> None:
        self.check_every_step = False

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self.check_every_step = any(getattr(callback, "save_weights_only", False) for callback in trainer.callbacks)

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        losses = outputs if isinstance(outputs, dict) else {"loss": outputs}
        networks = getattr(pl_module, "loss_networks", {})
        for name, value in losses.items():
            if non_finite_scalar(value):
                network = f" ({networks[name]})" if name in networks else ""
                diverged(f"train/{name}{network} = {float(value)} at step {trainer.global_step}")
        if self.check_every_step or logs_this_step(pl_module):
            check_parameters(trainer, pl_module)

    def on_save_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict) -> None:
        """Before the checkpoint is written: a diverged state is never saved."""
        check_parameters(trainer, pl_module)


def check_parameters(trainer: Trainer, pl_module: LightningModule) -> None:
    """DivergenceError naming the first non-finite parameter, if any."""
    if not parameters_finite(pl_module):
        name, value = first_non_finite_parameter(pl_module)
        diverged(f"parameter {name} = {value} after step {trainer.global_step}")


def non_finite_scalar(value) -> bool:
    """True for a one-element tensor (or a number) that is nan or ±inf; other outputs are not losses."""
    if isinstance(value, torch.Tensor):
        return value.numel() == 1 and not math.isfinite(float(value))
    return isinstance(value, (int, float)) and not math.isfinite(value)


def parameters_finite(pl_module: LightningModule) -> bool:
    """The 2-norm over all parameters (nan and inf carry through it; ~10x cheaper on CPU than the max |value|),
    and only when that overflows, the max |value| itself (empty shards have no max)."""
    parameters = [p.detach() for p in pl_module.parameters() if p.is_floating_point() and p.numel()]
    if not parameters or torch.isfinite(get_total_norm(parameters, norm_type=2.0)):
        return True
    return bool(torch.isfinite(get_total_norm(parameters, norm_type="inf")))


def first_non_finite_parameter(pl_module: LightningModule) -> tuple[str, float]:
    """The first parameter holding nan or ±inf, and its first such value."""
    for name, parameter in pl_module.named_parameters():
        bad = parameter.detach()[~torch.isfinite(parameter.detach())]
        if bad.numel():
            return name, float(bad[0])
    raise AssertionError("the parameters' max |value| was not finite, yet every parameter is")


def diverged(what: str) -> NoReturn:
    raise DivergenceError(f"training diverged: {what} (the last good checkpoint is kept)")
