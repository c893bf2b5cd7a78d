"""MNIST digits (28x28) from the standard IDX files: read locally, or downloaded on request."""

from pathlib import Path

import numpy as np

from genlab.data.download import download_files
from genlab.data.idx import read_idx
from genlab.data.image_datamodule import ImageDataModule
from genlab.errors import ConfigError, DataError

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "t10k": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
DEFAULT_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"


def _pool_parts(pool) -> list[str]:
    """Return pool as a list of MNIST part names, or raise ConfigError naming data.pool."""
    parts = [pool] if isinstance(pool, str) else list(pool)
    unknown = [part for part in parts if part not in MNIST_FILES]
    if not parts or unknown:
        raise ConfigError(
            f"data.pool must list one or more of {', '.join(MNIST_FILES)}, got {parts!r}"
        )
    return parts


class MNISTDataModule(ImageDataModule):
    """MNIST images pooled from the chosen standard parts, then split by the base class."""

    name = "mnist"
    num_classes = 10

    def __init__(
        self,
        batch_size: int = 64,
        num_workers: int = 0,
        image_size: int = 28,
        channels: int = 1,
        splits: tuple[float, float, float] = (0.7, 0.1, 0.2),
        seed: int = 0,
        data_dir: str = "data/mnist",
        pool: tuple[str, ...] = ("t10k",),
        download: bool = False,
        mirror: str = DEFAULT_MIRROR,
    ) -> None:
        super().__init__(batch_size, num_workers, image_size, channels, splits, seed)
        self.data_dir = Path(data_dir)
        self.pool = _pool_parts(pool)
        self.download = bool(download)
        self.mirror = str(mirror)

    def pool_files(self) -> list[str]:
        """File names the pool needs, images before labels, in pool order."""
        return [name for part in self.pool for name in MNIST_FILES[part]]

    def _require_files(self) -> None:
        """Raise DataError naming data_dir and the expected files if any is missing."""
        expected = self.pool_files()
        missing = [name for name in expected if not (self.data_dir / name).is_file()]
        if missing:
            present = f" ({len(expected) - len(missing)} present)" if len(missing) < len(expected) else ""
            raise DataError(
                f"MNIST files missing from {self.data_dir}: {', '.join(missing)}{present}; copy them there, "
                "or set data.download=true to fetch them when online"
            )

    def prepare_data(self) -> None:
        """Download the pool's files when download is true; otherwise check they are present."""
        if self.download:
            files = {name: MNIST_MD5[name] for name in self.pool_files()}
            download_files(self.mirror, self.data_dir, files)
        else:
            self._require_files()

    def load_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Concatenate the pool's images (N, 28, 28) uint8 and labels (N,)."""
        self._require_files()
        images, labels = [], []
        for part in self.pool:
            image_name, label_name = MNIST_FILES[part]
            part_images = read_idx(self.data_dir / image_name, what="MNIST file")
            part_labels = read_idx(self.data_dir / label_name, what="MNIST file")
            if part_images.ndim != 3 or part_labels.ndim != 1 or len(part_images) != len(part_labels):
                raise DataError(
                    f"MNIST files {self.data_dir / image_name} and {self.data_dir / label_name} do not match: "
                    f"images shape {part_images.shape}, labels shape {part_labels.shape}; "
                    "expected (N, H, W) images and (N,) labels"
                )
            images.append(part_images)
            labels.append(part_labels.astype(np.int64))
        return np.concatenate(images), np.concatenate(labels)

    def describe_extras(self) -> dict:
        """The pool of standard parts and the directory read from."""
        return {"pool": list(self.pool), "data_dir": str(self.data_dir)}
