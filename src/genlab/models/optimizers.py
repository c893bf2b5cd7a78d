"""Optimizers of the sequence models: AdamW (decay on matrices only, PyTorch's fused kernel), or Muon on the hidden
matrices with AdamW on the rest (embeddings, head, norms, biases), stepped as one optimizer."""
import torch
from torch import nn

from genlab.errors import ConfigError
from genlab.models.muon import Muon

NO_DECAY_MODULES = (nn.Embedding, nn.LayerNorm, nn.RMSNorm)
OPTIMIZERS = ("adamw", "muon")


def parameter_groups(network: nn.Module, weight_decay: float, exclude: set[int] = frozenset()) -> list[dict]:
    """AdamW groups of the trainable parameters (those not in `exclude`, by id): decay on weight matrices; none on
    biases, norms and embeddings (tied heads included)."""
    exempt = {id(p) for module in network.modules() if isinstance(module, NO_DECAY_MODULES) for p in module.parameters()}
    params = [p for p in dict.fromkeys(network.parameters()) if p.requires_grad and id(p) not in exclude]
    decay = [p for p in params if p.dim() >= 2 and id(p) not in exempt]
    no_decay = [p for p in params if p.dim() < 2 or id(p) in exempt]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def fused_device(network: nn.Module, precision: str) -> bool:
    """PyTorch's fused Adam kernels run on CPU and CUDA; not under mixed precision, where Lightning refuses to clip
    the gradients of an optimizer that could unscale them."""
    device = next(network.parameters()).device.type
    return device in ("cpu", "cuda") and not precision.endswith("-mixed")


def adamw(network: nn.Module, lr: float, betas: tuple[float, float], weight_decay: float,
          precision: str = "32-true", exclude: set[int] = frozenset()) -> torch.optim.AdamW:
    """AdamW over `parameter_groups`, with the fused kernel where it runs: one kernel a parameter instead of a dozen."""
    fused = fused_device(network, precision)
    return torch.optim.AdamW(parameter_groups(network, weight_decay, exclude), lr=lr, betas=betas, fused=fused or None)


class MuonAdamW(torch.optim.Optimizer):
    """Muon over the hidden matrices and AdamW over everything else, as one optimizer: Lightning's
    automatic optimization, LR schedulers (every group keeps its own base rate) and checkpoints see a single one."""

    def __init__(self, muon: Muon, adamw: torch.optim.AdamW):
        self.muon, self.adamw = muon, adamw
        super().__init__([p for group in adamw.param_groups for p in group["params"]], adamw.defaults)
        self.param_groups = [*muon.param_groups, *adamw.param_groups]  # the parts' own group dicts, shared
        self.defaults = adamw.defaults

    def step(self, closure=None):
        loss = self.muon.step(closure)  # runs the closure (forward and backward) first, then Muon's update
        self.adamw.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.muon.zero_grad(set_to_none)
        self.adamw.zero_grad(set_to_none)

    def state_dict(self) -> dict:
        return {"muon": self.muon.state_dict(), "adamw": self.adamw.state_dict()}

    def load_state_dict(self, state_dict: dict) -> None:
        if set(state_dict) != {"muon", "adamw"}:
            raise ConfigError("the checkpoint's optimizer state is not a Muon + AdamW state: resume with model.optimizer=muon")
        self.muon.load_state_dict(state_dict["muon"])
        self.adamw.load_state_dict(state_dict["adamw"])
        self.param_groups = [*self.muon.param_groups, *self.adamw.param_groups]  # loading made new group dicts


def muon_adamw(network: nn.Module, lr: float, betas: tuple[float, float], weight_decay: float, muon_lr: float,
               muon_momentum: float, muon_weight_decay: float, precision: str = "32-true") -> MuonAdamW:
    """Muon (genlab.models.muon) on `network.hidden_matrices()`, AdamW at `lr` on the rest."""
    hidden_matrices = getattr(network, "hidden_matrices", None)
    if hidden_matrices is None:
        raise ConfigError(f"model.optimizer=muon needs a network with hidden matrices (the GPT); "
                          f"{type(network).__name__} has none: use model.optimizer=adamw")
    matrices = [p for p in hidden_matrices() if p.requires_grad]
    if not matrices:
        raise ConfigError("model.optimizer=muon found no trainable hidden matrices (LoRA fine-tuning: use adamw)")
    muon = Muon(matrices, lr=muon_lr, momentum=muon_momentum, weight_decay=muon_weight_decay)
    rest = adamw(network, lr, betas, weight_decay, precision, exclude={id(p) for p in matrices})
    return MuonAdamW(muon, rest)
