"""Class conditioning shared by generator/discriminator networks: one-hot inputs and projection heads."""
import torch
import torch.nn.functional as F
from torch import nn


def with_one_hot(inputs: torch.Tensor, labels: torch.Tensor | None, num_classes: int | None) -> torch.Tensor:
    """Append one-hot labels to (B, F) inputs for a conditional network; unchanged when unconditional."""
    if not num_classes:
        return inputs
    return torch.cat([inputs, F.one_hot(labels, num_classes).to(inputs.dtype)], dim=1)


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
