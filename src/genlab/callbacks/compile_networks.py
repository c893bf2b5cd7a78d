"""`model.compile=true`: compile the model's networks with torch.compile before training."""
from lightning.pytorch import Callback, LightningModule, Trainer
from torch import nn
from torch.optim.swa_utils import AveragedModel
from torchmetrics import Metric


def networks_of(module: LightningModule) -> list[tuple[str, nn.Module]]:
    """The direct children that hold trainable weights (generator, discriminator, network, encoder, ...)."""
    return [
        (name, child) for name, child in module.named_children()
        if not isinstance(child, (Metric, AveragedModel)) and any(p.requires_grad for p in child.parameters())
    ]


class CompileNetworks(Callback):
    """Calls `nn.Module.compile()` on each network in place, so state_dict keys (and checkpoints) stay unchanged.

    Runs at fit start, after `configure_model` has built networks that depend on the data (LMs). Double
    backward (WGAN-GP's gradient penalty, R1) is not supported by torch.compile.
    """

    def __init__(self, mode: str | None = None):
        self.mode = mode

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        for _, network in networks_of(pl_module):
            network.compile(mode=self.mode)
