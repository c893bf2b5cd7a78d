"""VAE encoder/decoder pairs (MLP or conv) with a Gaussian latent and optional one-hot class conditioning."""
from genlab.checks import choice
import torch
import torch.nn.functional as F
from torch import nn

from genlab.errors import ConfigError

ARCHS = ("mlp", "conv")
MIN_CONV_IMAGE_SIZE = 16


def dense_stack(in_features: int, widths: tuple[int, ...]) -> tuple[nn.Sequential, int]:
    """Linear+SiLU layers of the given widths, and the width that comes out."""
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Linear(in_features, width), nn.SiLU()]
        in_features = width
    return nn.Sequential(*layers), in_features


def conv_plan(image_size: int, conv_channels: tuple[int, ...]) -> int:
    """Side of the smallest feature map once the conv stack has halved `image_size` once per stage."""
    stages = len(conv_channels)
    if stages == 0 or image_size < MIN_CONV_IMAGE_SIZE or image_size % 2**stages:
        raise ConfigError(
            f"model.image_size={image_size} does not fit the conv VAE: it halves the size {stages} times "
            f"(one per model.conv_channels entry), so it needs a multiple of {2**stages} that is >= "
            f"{MIN_CONV_IMAGE_SIZE} (16, 28, 32 with 2 stages); use model.arch=mlp for other sizes"
        )
    return image_size // 2**stages


class Conditioner(nn.Module):
    """Appends a one-hot class code to a batch of feature vectors (a no-op for unconditional models)."""

    def __init__(self, num_classes: int | None):
        super().__init__()
        self.num_classes = num_classes or 0

    def forward(self, features: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        if not self.num_classes:
            return features
        if labels is None:
            raise ConfigError(f"a VAE conditioned on {self.num_classes} classes needs the labels of its inputs")
        one_hot = F.one_hot(labels.long(), self.num_classes).to(features.dtype)  # (B, K)
        return torch.cat([features, one_hot], dim=1)


class VAEEncoder(nn.Module):
    """images (B, C, H, W) [+ labels (B,)] → posterior mean and log-variance, each (B, latent_dim)."""

    def __init__(self, features: nn.Module, feature_dim: int, latent_dim: int, hidden_dims: tuple[int, ...],
                 num_classes: int | None = None):
        super().__init__()
        self.features = features
        self.condition = Conditioner(num_classes)
        self.hidden, width = dense_stack(feature_dim + self.condition.num_classes, hidden_dims)
        self.head = nn.Linear(width, 2 * latent_dim)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.condition(self.features(images), labels)  # (B, F + K)
        mean, logvar = self.head(self.hidden(features)).chunk(2, dim=1)
        return mean, logvar.clamp(-12.0, 8.0)


class VAEDecoder(nn.Module):
    """z (B, latent_dim) [+ labels (B,)] → per-pixel logits (B, C, H, W)."""

    def __init__(self, latent_dim: int, hidden_dims: tuple[int, ...], out_features: int, body: nn.Module,
                 num_classes: int | None = None):
        super().__init__()
        self.condition = Conditioner(num_classes)
        self.hidden, width = dense_stack(latent_dim + self.condition.num_classes, hidden_dims)
        self.project = nn.Linear(width, out_features)
        self.body = body

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(self.project(self.hidden(self.condition(z, labels))))


def conv_features(channels: int, conv_channels: tuple[int, ...]) -> nn.Sequential:
    """Stride-2 4x4 convolutions, one per entry of conv_channels, then flatten."""
    layers: list[nn.Module] = []
    for width in conv_channels:
        layers += [nn.Conv2d(channels, width, 4, 2, 1), nn.SiLU()]
        channels = width
    return nn.Sequential(*layers, nn.Flatten())


def conv_body(channels: int, conv_channels: tuple[int, ...], side: int) -> nn.Sequential:
    """(B, conv_channels[-1]·side²) → transposed convolutions mirroring conv_features → logits (B, C, H, W)."""
    layers: list[nn.Module] = [nn.SiLU(), nn.Unflatten(1, (conv_channels[-1], side, side))]
    widths = list(reversed(conv_channels))
    for width, next_width in zip(widths, widths[1:] + [channels]):
        layers += [nn.ConvTranspose2d(width, next_width, 4, 2, 1), nn.SiLU()]
    return nn.Sequential(*layers[:-1])  # no activation after the last layer: logits


def build_vae_networks(arch: str = "mlp", channels: int = 1, image_size: int = 28, latent_dim: int = 32,
                       hidden_dims: tuple[int, ...] = (512,), conv_channels: tuple[int, ...] = (32, 64),
                       num_classes: int | None = None) -> tuple[VAEEncoder, VAEDecoder]:
    """The encoder/decoder pair for `arch`; hidden_dims are the dense layers (reversed in the decoder)."""
    hidden_dims, conv_channels = tuple(hidden_dims), tuple(conv_channels)
    pixels = channels * image_size * image_size
    if arch == "mlp":
        features, feature_dim = nn.Flatten(), pixels
        body, out_features = nn.Unflatten(1, (channels, image_size, image_size)), pixels
    elif arch == "conv":
        side = conv_plan(image_size, conv_channels)
        features, feature_dim = conv_features(channels, conv_channels), conv_channels[-1] * side * side
        body, out_features = conv_body(channels, conv_channels, side), feature_dim
    else:
        choice("model.arch", arch, ARCHS)
    encoder = VAEEncoder(features, feature_dim, latent_dim, hidden_dims, num_classes)
    decoder = VAEDecoder(latent_dim, tuple(reversed(hidden_dims)), out_features, body, num_classes)
    return encoder, decoder
