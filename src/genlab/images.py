"""Image conversions and grids with numpy/Pillow (no torchvision)."""
import io
import math
from pathlib import Path

import numpy as np
from PIL import Image

from genlab.runs.atomic import write_atomic


def to_uint8(images) -> np.ndarray:
    """(N, C, H, W) tensor/array in [-1, 1] → uint8 array (N, H, W, C)."""
    array = images.detach().float().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    array = np.clip((array + 1.0) * 127.5, 0, 255).round().astype(np.uint8)
    return array.transpose(0, 2, 3, 1)


def make_grid(images: np.ndarray, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile uint8 images (N, H, W, C) into one (H', W', C) image, `nrow` per row (default: square)."""
    count, height, width, channels = images.shape
    nrow = nrow or math.ceil(math.sqrt(count))
    ncol = math.ceil(count / nrow)
    grid = np.zeros(
        (ncol * (height + padding) + padding, nrow * (width + padding) + padding, channels), dtype=np.uint8
    )
    for index, image in enumerate(images):
        row, col = divmod(index, nrow)
        top, left = padding + row * (height + padding), padding + col * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def save_png(image: np.ndarray, path: Path, min_size: int = 256) -> Path:
    """Save a uint8 (H, W, C) image as PNG, upscaled (nearest) so its short side is at least `min_size`."""
    scale = max(1, math.ceil(min_size / min(image.shape[:2])))
    picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    write_atomic(Path(path), buffer.getvalue())
    return Path(path)


def from_uint8(images: np.ndarray):
    """uint8 (N, H, W, C) → float tensor (N, C, H, W) in [-1, 1] (the inverse of `to_uint8`)."""
    import torch

    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0
