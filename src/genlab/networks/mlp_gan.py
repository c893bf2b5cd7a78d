"""The classic fully-connected GAN (Goodfellow et al. 2014 style) generator and discriminator."""
import math

import torch
from torch import nn

from genlab.networks.conditioning import ProjectionHead, with_one_hot


class MLPGenerator(nn.Module):
    """z (B, latent_dim) [+ labels] → images (B, channels, image_size, image_size) in [-1, 1]."""

    def __init__(self, latent_dim: int = 64, channels: int = 1, image_size: int = 28, hidden: int = 256,
                 num_classes: int | None = None):
        super().__init__()
        self.num_classes = num_classes
        self.image_shape = (channels, image_size, image_size)
        layers, width = [], latent_dim + (num_classes or 0)
        for out in (hidden, hidden * 2, hidden * 4):
            layers += [nn.Linear(width, out), nn.BatchNorm1d(out), nn.LeakyReLU(0.2, True)]
            width = out
        self.net = nn.Sequential(*layers, nn.Linear(width, math.prod(self.image_shape)), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(with_one_hot(z, labels, self.num_classes)).view(-1, *self.image_shape)


class MLPDiscriminator(nn.Module):
    """images [+ labels] → real/fake logits (B,); dropout regularizes the small fully-connected critic."""

    def __init__(self, channels: int = 1, image_size: int = 28, hidden: int = 256, num_classes: int | None = None,
                 dropout: float = 0.3):
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * image_size * image_size, hidden * 2),
            nn.LeakyReLU(0.2, True),
            nn.Dropout(dropout),
            nn.Linear(hidden * 2, hidden),
            nn.LeakyReLU(0.2, True),
            nn.Dropout(dropout),
        )
        self.head = ProjectionHead(hidden, num_classes)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.body(images), labels)
