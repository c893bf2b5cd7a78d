"""Sampling in chunks: bounded float activations at any count, and a seed's images whatever the chunk size."""
from collections.abc import Iterable, Iterator

import numpy as np
import torch

from genlab.errors import ConfigError
from genlab.networks.conditioning import sampling_labels

SAMPLE_CHUNK_SIZE = 1024  # images per forward pass; a multiple of 16 (see `noise_chunks`)
RANDN_BLOCK = 16  # torch's CPU randn turns uniforms into normals in blocks of 16 numbers


def noise_chunks(num_samples: int, latent_dim: int, seed: int | None) -> Iterator[tuple[int, torch.Tensor]]:
    """(first row, z (rows, latent_dim)) chunks that concatenate to `torch.randn(num_samples, latent_dim)` of one
    generator seeded once (the global one when seed is None), on the CPU whatever the model's device.

    CPU randn of n >= 16 numbers consumes n uniforms (plus 16 more when n is not a multiple of 16, for its last
    block), so chunks of a multiple of 16 numbers continue one draw exactly; a tail under 16 numbers would take
    randn's scalar path instead, so it joins the chunk before it.
    """
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    start = 0
    while start < num_samples:
        rows = min(SAMPLE_CHUNK_SIZE, num_samples - start)
        if (num_samples - start - rows) * latent_dim < RANDN_BLOCK:
            rows = num_samples - start
        yield start, torch.randn(rows, latent_dim, generator=generator)
        start += rows


def gather_rows(chunks: Iterable[np.ndarray], num_rows: int) -> np.ndarray:
    """Copy chunks into one array allocated once, so the result is the only allocation that grows with `num_rows`."""
    gathered, start = None, 0
    for chunk in chunks:
        if gathered is None:
            gathered = np.empty((num_rows, *chunk.shape[1:]), dtype=chunk.dtype)
        gathered[start : start + len(chunk)] = chunk
        start += len(chunk)
    return gathered


def requested_labels(model, num_samples: int, class_label: int | None) -> torch.Tensor | None:
    """The labels a sampling request gives `model` (None when unconditional), after checking the count; one-line
    errors name the value at fault."""
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
        raise ConfigError(f"num_samples must be a positive integer, got {num_samples}")
    return sampling_labels(type(model).__name__, model.num_classes, num_samples, class_label, model.device)


class ChunkedSampler:
    """`sample(n, seed, class_label)` for a generator whose `sample_chunks` yields uint8 (n_i, H, W, C) chunks."""

    def sample(self, num_samples: int, seed: int | None = None, class_label: int | None = None) -> np.ndarray:
        """`num_samples` images as uint8 (N, H, W, C); the same seed gives the same images."""
        return gather_rows(self.sample_chunks(num_samples, seed, class_label), num_samples)
