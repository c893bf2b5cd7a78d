"""DCGAN generator and discriminator (Radford et al. 2015) for square images of size s·2^k, 3 <= s <= 7."""
import torch
from torch import nn

from genlab.errors import ConfigError
from genlab.networks.conditioning import ProjectionHead, with_one_hot


def upsampling_plan(image_size: int) -> tuple[int, int]:
    """(start size, number of 2x stages) that build `image_size`, e.g. 28 → (7, 2), 32 → (4, 3)."""
    for stages in range(1, 7):
        start, remainder = divmod(image_size, 2**stages)
        if remainder == 0 and 3 <= start <= 7:
            return start, stages
    raise ConfigError(
        f"model.image_size={image_size} cannot be produced by the DCGAN: use s*2^k with 3 <= s <= 7 (16, 28, 32, 64)"
    )


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN init: conv weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    """z (B, latent_dim) [+ labels (B,)] → images (B, channels, image_size, image_size) in [-1, 1]."""

    def __init__(self, latent_dim: int = 64, channels: int = 1, image_size: int = 32, width: int = 64,
                 num_classes: int | None = None):
        super().__init__()
        start, stages = upsampling_plan(image_size)
        width_now = width * 2 ** (stages - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim + (num_classes or 0), width_now, start, 1, 0, bias=False),  # (B, W, s, s)
            nn.BatchNorm2d(width_now),
            nn.ReLU(True),
        ]
        for _ in range(stages - 1):
            layers += [
                nn.ConvTranspose2d(width_now, width_now // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width_now // 2),
                nn.ReLU(True),
            ]
            width_now //= 2
        layers += [nn.ConvTranspose2d(width_now, channels, 4, 2, 1), nn.Tanh()]
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        inputs = with_one_hot(z, labels, self.num_classes)
        return self.net(inputs.view(*inputs.shape, 1, 1))


class MinibatchStdDev(nn.Module):
    """Appends one feature map holding the mean std of the features across each group of samples (ProGAN): the
    discriminator sees how varied a batch is, which penalizes a generator that drops modes."""

    def __init__(self, group_size: int = 4):
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        group = next(size for size in range(min(self.group_size, batch), 0, -1) if batch % size == 0)
        std = x.view(group, -1, channels, height, width).var(0, unbiased=False).add(1e-8).sqrt()  # (B/g, C, H, W)
        spread = std.mean(dim=(1, 2, 3)).view(-1, 1, 1, 1).repeat(group, 1, height, width)  # (B, 1, H, W)
        return torch.cat([x, spread], dim=1)


class DCGANDiscriminator(nn.Module):
    """images (B, channels, image_size, image_size) [+ labels] → real/fake logits (B,)."""

    def __init__(self, channels: int = 1, image_size: int = 32, width: int = 64, num_classes: int | None = None,
                 batch_norm: bool = True, minibatch_std: bool = False):
        super().__init__()
        start, stages = upsampling_plan(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        width_now = width
        for _ in range(stages - 1):
            layers += [nn.Conv2d(width_now, width_now * 2, 4, 2, 1, bias=not batch_norm)]
            layers += [nn.BatchNorm2d(width_now * 2)] if batch_norm else []
            layers += [nn.LeakyReLU(0.2, True)]
            width_now *= 2
        if minibatch_std:
            layers.append(MinibatchStdDev())
        self.body = nn.Sequential(*layers, nn.Flatten())  # (B, (W [+ 1]) * s * s)
        self.head = ProjectionHead((width_now + int(minibatch_std)) * start * start, num_classes)
        self.apply(init_dcgan_weights)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.body(images), labels)
