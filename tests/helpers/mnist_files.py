"""MNIST-format (IDX) files written for tests."""
import gzip
from pathlib import Path

import numpy as np

from genlab.data.mnist import MNIST_FILES

T10K_FILES = MNIST_FILES["t10k"]


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write a uint8 array as an IDX file, gzipped when the name ends with .gz."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if path.name.endswith(".gz") else payload)
    return path


def write_fake_part(directory: Path, part: str, count: int) -> None:
    """Write a small random MNIST-like image/label file pair under the standard names."""
    rng = np.random.default_rng(count)
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    image_name, label_name = MNIST_FILES[part]
    write_idx(directory / image_name, images)
    write_idx(directory / label_name, (np.arange(count) % 10).astype(np.uint8))
