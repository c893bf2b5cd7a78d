"""Image GPT: an autoregressive Transformer over an image's pixels in raster order (Chen et al. 2020, small).

Pixels are quantized to `levels` grey levels (2: binarized MNIST, the standard likelihood benchmark), one token
each, after a start token that is the class (`num_classes`) or a single "image" token. Position embeddings are
learned per row, column (and channel). Losses are nats per image, summed over its pixels: the unit of the VAE's
test/nll_iw, so the two families compare directly; `<split>/bpd` is bits per dimension.
"""
import math
from collections.abc import Iterator

import numpy as np
import torch

from genlab.checks import integer
from genlab.errors import ConfigError
from genlab.models.sample_chunks import ChunkedSampler, requested_labels
from genlab.models.sequence_model import SequenceModel
from genlab.networks.generation import generate
from genlab.networks.gpt import GPT, network_options

SAMPLE_CHUNK_SIZE = 64  # images decoded together: the KV cache holds layers x 2 x chunk x block_size x n_embd floats


class PixelDecoder:
    """The network as `generate` sees it, its logits cut to the pixel tokens (a start token is never drawn)."""

    def __init__(self, network: GPT, levels: int):
        self.network, self.levels = network, levels
        self.context_size, self.training = network.context_size, network.training

    def decode(self, idx: torch.Tensor, cache):
        logits, cache = self.network.decode(idx, cache)
        return logits[..., : self.levels], cache

    def train(self, mode: bool = True):
        self.network.train(mode)
        self.training = mode
        return self


class ImageGPT(ChunkedSampler, SequenceModel):
    """Pixel-level autoregressive image model; `sample()` decodes images with the KV cache."""

    def __init__(self, image_size: int = 16, channels: int = 1, levels: int = 16, num_classes: int | None = None,
                 n_layer: int = 4, n_head: int = 4, n_embd: int = 128, dropout: float = 0.0, bias: bool = False,
                 lr: float = 1e-3, min_lr: float = 1e-4, weight_decay: float = 0.1,
                 betas: tuple[float, float] = (0.9, 0.95), warmup_steps: int = 100, lr_decay_steps: int | None = None,
                 vocab_size: int | None = None, optimizer: str = "adamw", muon_lr: float = 0.02, muon_momentum: float = 0.95,
                 schedule: str = "cosine", cooldown_fraction: float = 0.5,
                 network: dict | None = None):
        levels = integer("model.levels", levels, minimum=2)
        num_classes = None if num_classes is None else integer("model.num_classes", num_classes, minimum=2)
        tokens = levels + (num_classes or 1)  # pixel levels, then the start tokens
        if vocab_size is not None and vocab_size != tokens:
            raise ConfigError(f"model.vocab_size={vocab_size} must be levels + start tokens = {tokens} (or null)")
        super().__init__(vocab_size=tokens, lr=lr, min_lr=min_lr, weight_decay=weight_decay, betas=betas,
                         warmup_steps=warmup_steps, lr_decay_steps=lr_decay_steps, counts=("images",),
                         optimizer=optimizer, muon_lr=muon_lr, muon_momentum=muon_momentum, schedule=schedule,
                         cooldown_fraction=cooldown_fraction)
        self.network_options = network_options(network)
        self.levels, self.num_classes = levels, num_classes
        self.image_size, self.channels = integer("model.image_size", image_size), integer("model.channels", channels)
        self.n_layer, self.n_head, self.n_embd, self.dropout, self.bias = n_layer, n_head, n_embd, dropout, bias
        self.finish_setup()

    @property
    def dims(self) -> int:
        """Tokens (dimensions) per image."""
        return self.image_size * self.image_size * self.channels

    def build_network(self, vocab_size: int) -> GPT:
        return GPT(vocab_size, self.dims, self.n_layer, self.n_head, self.n_embd, self.dropout, self.bias,
                   grid=(self.image_size, self.image_size, self.channels), **self.network_options)

    # ---- pixels as tokens ----------------------------------------------------------------------------
    def quantize(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in [-1, 1] → pixel tokens (B, H·W·C) in raster order, each in 0..levels-1."""
        B, C, H, W = images.shape
        if (C, H) != (self.channels, self.image_size) or W != H:
            raise ConfigError(f"{type(self).__name__} was built for {self.channels}x{self.image_size}x{self.image_size} "
                              f"images, got {C}x{H}x{W}: set model.image_size and model.channels to the data's")
        levels = ((images + 1) / 2 * (self.levels - 1)).round().clamp(0, self.levels - 1).long()
        return levels.permute(0, 2, 3, 1).reshape(B, -1)

    def to_images(self, tokens: torch.Tensor) -> np.ndarray:
        """Pixel tokens (B, H·W·C) → uint8 images (B, H, W, C)."""
        values = (tokens.float() * (255 / (self.levels - 1))).round().to(torch.uint8)
        return values.view(-1, self.image_size, self.image_size, self.channels).cpu().numpy()

    def start_tokens(self, labels: torch.Tensor | None, count: int) -> torch.Tensor:
        """(count, 1) start tokens: the class's, or the one image token of an unconditional model."""
        offsets = torch.zeros(count, dtype=torch.long, device=self.device) if labels is None else labels.long()
        return (self.levels + offsets).unsqueeze(1)

    def sequence_batch(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Each image's pixel tokens as targets, behind its start token as inputs."""
        images, labels = batch[0], batch[1] if len(batch) > 1 else None
        tokens = self.quantize(images)
        if self.num_classes:
            if labels is None or labels.min() < 0 or labels.max() >= self.num_classes:
                raise ConfigError(f"model.num_classes={self.num_classes} needs labels 0..{self.num_classes - 1} from the data")
        starts = self.start_tokens(labels if self.num_classes else None, len(tokens))
        return torch.cat([starts, tokens[:, :-1]], dim=1), tokens

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.network(tokens)[..., : self.levels]  # (B, T, levels): only pixels are predicted

    def tokens_per_sample(self) -> int:
        return self.dims

    def train_loss(self, loss: torch.Tensor) -> torch.Tensor:
        return loss * self.dims  # nats per image

    # ---- evaluation ----------------------------------------------------------------------------------
    def evaluation_counts(self, inputs: torch.Tensor, targets: torch.Tensor) -> dict[str, int]:
        return {"images": targets.shape[0]}

    def evaluation_metrics(self, split: str, sums: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Negative log-likelihood in nats per image, and bits per dimension."""
        return {f"{split}/nll": sums["nats"] / sums["images"], f"{split}/bpd": sums["nats"] / sums["tokens"] / math.log(2)}

    # ---- sampling ------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample_chunks(self, num_samples: int, seed: int | None = None,
                      class_label: int | None = None) -> Iterator[np.ndarray]:
        """`sample`'s images, decoded pixel by pixel with the KV cache, SAMPLE_CHUNK_SIZE at a time from one
        generator seeded once."""
        labels = requested_labels(self, num_samples, class_label)
        generator = torch.Generator(device=self.device).manual_seed(seed) if seed is not None else None
        decoder = PixelDecoder(self.network, self.levels)
        for start in range(0, num_samples, SAMPLE_CHUNK_SIZE):
            count = min(SAMPLE_CHUNK_SIZE, num_samples - start)
            chunk_labels = None if labels is None else labels[start : start + count]
            tokens = generate(decoder, self.start_tokens(chunk_labels, count), self.dims, temperature=1.0,
                              generator=generator)
            yield self.to_images(tokens[:, 1:])
