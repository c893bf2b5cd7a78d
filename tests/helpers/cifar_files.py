"""CIFAR-10-format (pickled batch) files written for tests."""
import pickle
from pathlib import Path

import numpy as np

from genlab.data.cifar10 import BATCHES_DIR


def cifar_data(count: int, seed: int) -> tuple[np.ndarray, list[int]]:
    """count random rows of uint8 (count, 3072) and labels cycling 0..9."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(count, 3072), dtype=np.uint8), [(seed + i) % 10 for i in range(count)]


def write_batch(path: Path, count: int, seed: int = 0, protocol: int = 2) -> Path:
    """A CIFAR-10-like pickled batch dict with b'data' (count, 3072) uint8 and b'labels'."""
    data, labels = cifar_data(count, seed)
    batch = {b"batch_label": b"fake", b"labels": labels, b"data": data, b"filenames": [b"x.png"] * count}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(batch, protocol=protocol))
    return path


def write_batches(data_dir: Path, train_count: int = 6, test_count: int = 20) -> Path:
    """data_dir/cifar-10-batches-py with data_batch_1..5 (train_count each) and test_batch."""
    for index in range(1, 6):
        write_batch(data_dir / BATCHES_DIR / f"data_batch_{index}", train_count, seed=index)
    write_batch(data_dir / BATCHES_DIR / "test_batch", test_count, seed=0)
    return data_dir / BATCHES_DIR
