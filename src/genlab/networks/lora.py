"""LoRA (Hu et al. 2021): low-rank adapters beside a network's Linear layers, the base weights frozen.

`LoRALinear` keeps the base layer's parameter names (`weight`, `bias`) and adds `lora_a` (rank, in) and `lora_b`
(out, rank), so a base checkpoint loads into it as into the plain network, and an adapter checkpoint holds only the
`lora_` parameters. `merge_lora` folds the adapters into plain Linear layers (sampling, export).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from genlab.checks import fraction, integer, number
from genlab.errors import ConfigError

ADAPTER_PREFIX = "lora_"


class LoRALinear(nn.Linear):
    """y = x W^T + b + (alpha / rank) · dropout(x) A^T B^T; B starts at zero, so the layer starts as its base."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float):
        super().__init__(base.in_features, base.out_features, bias=base.bias is not None,
                         device=base.weight.device, dtype=base.weight.dtype)
        self.weight, self.bias = base.weight, base.bias  # the same parameters: tied weights stay tied
        self.lora_a = nn.Parameter(torch.empty(rank, self.in_features, device=self.weight.device))
        self.lora_b = nn.Parameter(torch.zeros(self.out_features, rank, device=self.weight.device))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))  # as nn.Linear initializes its weight
        self.scale = alpha / rank
        self.lora_dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias) + F.linear(F.linear(self.lora_dropout(x), self.lora_a), self.lora_b) * self.scale

    def merged(self) -> nn.Linear:
        """A plain Linear with W + scale · B A."""
        linear = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None,
                           device=self.weight.device, dtype=self.weight.dtype)
        with torch.no_grad():
            linear.weight.copy_(self.weight + self.scale * self.lora_b @ self.lora_a)
            if self.bias is not None:
                linear.bias.copy_(self.bias)
        return linear


def lora_settings(lora: dict | None) -> dict | None:
    """`model.lora` checked: None when off (rank 0 or no settings), else rank, alpha, dropout and targets."""
    if not lora or not lora.get("rank"):
        return None
    unknown = sorted(set(lora) - {"rank", "alpha", "dropout", "targets"})
    if unknown:
        raise ConfigError(f"unknown config key 'model.lora.{unknown[0]}'; model.lora takes rank, alpha, dropout, targets")
    targets = lora.get("targets") or []
    if isinstance(targets, str) or not targets or not all(isinstance(target, str) for target in targets):
        raise ConfigError(f"model.lora.targets must list Linear layer names (e.g. [c_attn, c_proj, c_fc]), got {targets!r}")
    return {"rank": integer("model.lora.rank", lora["rank"]), "alpha": number("model.lora.alpha", lora.get("alpha", 16)),
            "dropout": fraction("model.lora.dropout", lora.get("dropout", 0.0)), "targets": list(targets)}


def add_lora(network: nn.Module, rank: int, alpha: float, dropout: float, targets: list[str]) -> nn.Module:
    """Put LoRALinear adapters on every Linear named in `targets` (its attribute name, e.g. c_attn) and freeze all
    parameters but the adapters'. ConfigError when a target names no Linear layer of the network."""
    if "lm_head" in targets:
        raise ConfigError("model.lora.targets cannot name lm_head: the GPT ties it to the token embeddings")
    found = set()
    for parent in list(network.modules()):
        for name, child in list(parent.named_children()):
            if name in targets and type(child) is nn.Linear:
                setattr(parent, name, LoRALinear(child, rank, alpha, dropout))
                found.add(name)
    if missing := [target for target in targets if target not in found]:
        raise ConfigError(f"model.lora.targets names {', '.join(missing)}, which no Linear layer of "
                          f"{type(network).__name__} is called")
    for name, parameter in network.named_parameters():
        parameter.requires_grad_(is_adapter(name))
    return network


def is_adapter(parameter_name: str) -> bool:
    """Whether a parameter (or state-dict key) is a LoRA adapter's."""
    return parameter_name.rpartition(".")[2].startswith(ADAPTER_PREFIX)


def merge_lora(network: nn.Module) -> nn.Module:
    """Replace every LoRALinear by the plain Linear it amounts to (trainable again, as a plain network is)."""
    for parent in list(network.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, LoRALinear):
                setattr(parent, name, child.merged())
    return network
