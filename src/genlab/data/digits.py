"""scikit-learn's bundled 8x8 handwritten digits (1,797 images); works offline."""

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from genlab.data.image_datamodule import ImageDataModule


def bundled_digits_csv() -> Path | None:
    """The digits.csv.gz that scikit-learn ships and its `load_digits` reads, found without importing scikit-learn
    (a large part of a run's startup); None if this scikit-learn keeps it elsewhere."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    return path if path.is_file() else None


def digits_table() -> np.ndarray:
    """(1797, 65) float rows: 64 pixel values in 0..16, then the label."""
    path = bundled_digits_csv()
    if path is None:
        from sklearn.datasets import load_digits

        digits = load_digits()
        return np.column_stack([digits.data, digits.target])
    with gzip.open(path) as file:
        return np.loadtxt(file, delimiter=",")  # as load_digits reads it


class DigitsDataModule(ImageDataModule):
    """The sklearn digits set as uint8 images, upscaled to image_size by the base class."""

    name = "digits"
    num_classes = 10

    def load_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (1797, 8, 8) uint8 images scaled from 0..16 to 0..255, and their labels."""
        table = digits_table()
        images = np.round(table[:, :64].reshape(-1, 8, 8) * 255.0 / 16.0).astype(np.uint8)
        return images, table[:, 64].astype(np.int64)
