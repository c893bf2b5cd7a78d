"""scikit-learn's bundled 8x8 handwritten digits (1,797 images); works offline."""

import numpy as np
from sklearn.datasets import load_digits

from genlab.data.image_datamodule import ImageDataModule


class DigitsDataModule(ImageDataModule):
    """The sklearn digits set as uint8 images, upscaled to image_size by the base class."""

    name = "digits"
    num_classes = 10

    def load_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (1797, 8, 8) uint8 images scaled from 0..16 to 0..255, and their labels."""
        digits = load_digits()
        images = np.round(digits.images * 255.0 / 16.0).astype(np.uint8)
        return images, digits.target.astype(np.int64)
