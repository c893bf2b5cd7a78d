"""Train-time image augmentation applied to whole batches: random shifts (translation) with zero padding."""
import torch


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator, fill: float = -1.0) -> torch.Tensor:
    """Each image (B, C, H, W) moved by its own (dy, dx) in -max_shift..max_shift, the uncovered border `fill`
    (black in [-1, 1]); the same image size, pixels moved off the edge dropped."""
    B, C, H, W = images.shape
    padded = torch.nn.functional.pad(images, (max_shift,) * 4, value=fill)  # (B, C, H + 2s, W + 2s)
    offsets = torch.randint(0, 2 * max_shift + 1, (2, B), generator=generator).to(images.device)  # top-left corners
    rows = offsets[0, :, None] + torch.arange(H, device=images.device)  # (B, H)
    columns = offsets[1, :, None] + torch.arange(W, device=images.device)  # (B, W)
    batch = torch.arange(B, device=images.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], columns[:, None, :]].permute(0, 3, 1, 2).contiguous()
