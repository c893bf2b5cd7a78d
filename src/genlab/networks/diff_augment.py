"""DiffAugment (Zhao et al. 2020): random, differentiable colour, translation and cutout applied to every image the
discriminator sees, real and fake alike, so D cannot memorize a small training set and G still gets gradients."""
import torch
from torch import nn

from genlab.errors import ConfigError

TRANSLATION_RATIO = 1 / 8  # largest shift, as a share of the image side
CUTOUT_RATIO = 1 / 2       # side of the erased square, as a share of the image side


def adjust_colour(images: torch.Tensor) -> torch.Tensor:
    """Random brightness, saturation (RGB only: one channel has no saturation) and contrast, per image; (B, C, H, W)."""
    batch = images.shape[0]
    images = images + (torch.rand(batch, 1, 1, 1, device=images.device, dtype=images.dtype) - 0.5)
    if images.shape[1] > 1:
        grey = images.mean(dim=1, keepdim=True)
        images = (images - grey) * (torch.rand(batch, 1, 1, 1, device=images.device, dtype=images.dtype) * 2) + grey
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    return (images - mean) * (torch.rand(batch, 1, 1, 1, device=images.device, dtype=images.dtype) + 0.5) + mean


def translate(images: torch.Tensor, ratio: float = TRANSLATION_RATIO) -> torch.Tensor:
    """Shift each image by a random whole number of pixels (up to `ratio` of its side) in each axis, zero-filling."""
    batch, _, height, width = images.shape
    max_y, max_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    shift_y = torch.randint(-max_y, max_y + 1, (batch, 1), device=images.device)
    shift_x = torch.randint(-max_x, max_x + 1, (batch, 1), device=images.device)
    padded = nn.functional.pad(images, (max_x, max_x, max_y, max_y))  # zeros around, so a shifted-in pixel is 0
    rows = torch.arange(height, device=images.device)[None, :] + max_y - shift_y  # (B, H) rows of `padded`
    cols = torch.arange(width, device=images.device)[None, :] + max_x - shift_x   # (B, W)
    index = torch.arange(batch, device=images.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def cut_out(images: torch.Tensor, ratio: float = CUTOUT_RATIO) -> torch.Tensor:
    """Zero one random square (`ratio` of each side; clipped at the border) in each image."""
    batch, _, height, width = images.shape
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    top = torch.randint(0, height + (1 - size_y % 2), (batch, 1), device=images.device) - size_y // 2
    left = torch.randint(0, width + (1 - size_x % 2), (batch, 1), device=images.device) - size_x // 2
    rows, cols = torch.arange(height, device=images.device)[None, :], torch.arange(width, device=images.device)[None, :]
    in_rows, in_cols = (rows >= top) & (rows < top + size_y), (cols >= left) & (cols < left + size_x)  # (B, H), (B, W)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])  # (B, H, W)
    return images * keep[:, None].to(images.dtype)


AUGMENTATIONS = {"color": adjust_colour, "translation": translate, "cutout": cut_out}


def parse_policy(policy: str | None) -> list[str]:
    """The augmentation names of a policy string such as "color,translation,cutout" ("" or null is none)."""
    if policy is None:
        return []
    if not isinstance(policy, str):
        raise ConfigError(f"model.diffaug={policy!r} is not a policy string such as \"color,translation,cutout\"")
    names = [name.strip() for name in policy.split(",") if name.strip()]
    for name in names:
        if name not in AUGMENTATIONS:
            raise ConfigError(f"model.diffaug={policy}: unknown augmentation '{name}'; valid: "
                              f"{', '.join(AUGMENTATIONS)} (comma-separated), or \"\" for none")
    return names


class DiffAugment(nn.Module):
    """The policy's augmentations in order, drawn afresh per image on every call; the identity for an empty policy."""

    def __init__(self, policy: str | None = ""):
        super().__init__()
        self.policy = policy
        self.augmentations = [AUGMENTATIONS[name] for name in parse_policy(policy)]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        for augmentation in self.augmentations:
            images = augmentation(images)
        return images

    def extra_repr(self) -> str:
        return f"policy={self.policy!r}"
