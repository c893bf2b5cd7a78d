"""Class conditioning shared by generator/discriminator networks: one-hot inputs and projection heads."""
from numbers import Integral

import torch
import torch.nn.functional as F
from torch import nn

from genlab.errors import ConfigError


def with_one_hot(inputs: torch.Tensor, labels: torch.Tensor | None, num_classes: int | None) -> torch.Tensor:
    """Append one-hot labels to (B, F) inputs for a conditional network; unchanged when unconditional."""
    if not num_classes:
        return inputs
    return torch.cat([inputs, F.one_hot(labels, num_classes).to(inputs.dtype)], dim=1)


def sampling_labels(model_name: str, num_classes: int | None, count: int, class_label: int | None,
                    device: torch.device) -> torch.Tensor | None:
    """Labels for conditional sampling: all `class_label`, else 0..K-1 cycling (one class per grid row).

    Unconditional models take none; a label they cannot use fails in one line naming it.
    """
    if not num_classes:
        if class_label is not None:
            raise ConfigError(f"class_label={class_label}: {model_name} is unconditional")
        return None
    if class_label is None:
        return torch.arange(count, device=device) % num_classes
    if isinstance(class_label, bool) or not isinstance(class_label, Integral) or not 0 <= class_label < num_classes:
        raise ConfigError(f"class_label={class_label} is out of range: use 0..{num_classes - 1}")
    return torch.full((count,), int(class_label), dtype=torch.long, device=device)


class ProjectionHead(nn.Module):
    """Discriminator output from features (B, F): linear score plus the projection <embed(y), h> (Miyato & Koyama 2018)."""

    def __init__(self, features: int, num_classes: int | None = None):
        super().__init__()
        self.linear = nn.Linear(features, 1)
        self.embedding = nn.Embedding(num_classes, features) if num_classes else None

    def forward(self, features: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        score = self.linear(features).flatten()  # (B,)
        if self.embedding is not None:
            score = score + (self.embedding(labels) * features).sum(dim=1)
        return score


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalization on every conv/linear/embedding weight of `module` (in place)."""
    for layer in list(module.modules()):
        if isinstance(layer, (nn.Conv2d, nn.Linear, nn.Embedding)):
            nn.utils.parametrizations.spectral_norm(layer)
    return module
