"""Image classifiers for baselines and as FID/accuracy feature nets: a LeNet-style CNN and a row-by-row LSTM."""

import torch
from torch import nn

from genlab.checks import fraction, integer
from genlab.cpu_bf16 import run_recurrent
from genlab.errors import ConfigError



def _channels(value) -> int:
    """`value` as an int when it is 1 or 3, else ConfigError naming `model.channels`."""
    if isinstance(value, bool) or value not in (1, 3):
        raise ConfigError(f"model.channels must be 1 (grayscale) or 3 (RGB), got {value!r}")
    return int(value)


def image_args(channels, image_size, num_classes) -> tuple[int, int, int]:
    """Checked (channels, image_size, num_classes) shared by every classifier."""
    return _channels(channels), integer("model.image_size", image_size, 4), integer("model.num_classes", num_classes, 2)



def conv_block(in_channels: int, out_channels: int) -> list[nn.Module]:
    """Two 3x3 conv-BN-ReLU layers then a 2x2 max-pool (halves H and W)."""
    return [
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    ]


class LeNet(nn.Module):
    """images (B, C, S, S) in [-1, 1] → logits (B, num_classes); `features` gives the penultimate (B, feature_dim)."""

    pooled_size = 4  # the conv trunk's output is average-pooled to 4x4 whatever the image size

    def __init__(
        self,
        channels: int = 1,
        image_size: int = 28,
        num_classes: int = 10,
        width: int = 32,
        feature_dim: int = 128,
        dropout: float = 0.25,
    ):
        super().__init__()
        channels, image_size, num_classes = image_args(channels, image_size, num_classes)
        width, feature_dim, dropout = integer("model.width", width), integer("model.feature_dim", feature_dim), fraction("model.dropout", dropout)
        self.trunk = nn.Sequential(
            *conv_block(channels, width),  # (B, w, S/2, S/2)
            *conv_block(width, 2 * width),  # (B, 2w, S/4, S/4)
            nn.AdaptiveAvgPool2d(self.pooled_size),  # (B, 2w, 4, 4)
            nn.Flatten(),
        )
        self.embed = nn.Sequential(
            nn.Linear(2 * width * self.pooled_size**2, feature_dim),
            nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(feature_dim, num_classes)
        self.num_features = feature_dim

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate activations (B, feature_dim), before dropout."""
        return self.embed(self.trunk(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(images)))


class RowLSTM(nn.Module):
    """Reads images (B, C, H, W) row by row (H steps of C*W values) → logits (B, num_classes).

    `features` is the top layer's last hidden state, both directions concatenated when bidirectional.
    """

    def __init__(
        self,
        channels: int = 1,
        image_size: int = 28,
        num_classes: int = 10,
        hidden_size: int = 128,
        num_layers: int = 2,
        dropout: float = 0.1,
        bidirectional: bool = False,
    ):
        super().__init__()
        channels, image_size, num_classes = image_args(channels, image_size, num_classes)
        hidden_size, num_layers = integer("model.hidden_size", hidden_size), integer("model.num_layers", num_layers)
        dropout = fraction("model.dropout", dropout)
        self.lstm = nn.LSTM(
            input_size=channels * image_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            batch_first=True,
        )
        self.num_features = hidden_size * (2 if bidirectional else 1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.num_features, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Last hidden state of the top layer (B, hidden_size * directions)."""
        rows = images.permute(0, 2, 1, 3).flatten(2)  # (B, H, C*W)
        _, (hidden, _) = run_recurrent(self.lstm, rows)  # hidden: (layers * directions, B, hidden)
        directions = 2 if self.lstm.bidirectional else 1
        return hidden[-directions:].permute(1, 0, 2).flatten(1)  # (B, hidden * directions)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(images)))
