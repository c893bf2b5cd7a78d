"""MNIST digits (28x28) from the standard IDX files: read locally, or downloaded on request."""

import numpy as np

from genlab.data.download import download_files
from genlab.data.idx import read_idx
from genlab.data.pooled_files import PooledFilesDataModule
from genlab.errors import DataError

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


class MNISTDataModule(PooledFilesDataModule):
    """MNIST images pooled from the chosen standard parts, then split by the base class."""

    name = "mnist"
    title = "MNIST"  # how error messages name the dataset
    parts = MNIST_FILES
    num_classes = 10
    default_mirror = DEFAULT_MIRROR
    default_pool = ("t10k",)

    def file_md5s(self) -> dict[str, str]:
        """The standard files' md5 checksums (a method, so variants in the same format bring their own)."""
        return MNIST_MD5

    def prepare_data(self) -> None:
        """Download the pool's files when download is true; otherwise check they are present."""
        if self.download:
            files = {name: self.file_md5s()[name] for name in self.pool_files()}
            download_files(self.mirror, self.data_dir, files)
        else:
            self.require_files()

    def load_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Concatenate the pool's images (N, 28, 28) uint8 and labels (N,)."""
        self.require_files()
        images, labels = [], []
        for part in self.pool:
            image_name, label_name = MNIST_FILES[part]
            part_images = read_idx(self.data_dir / image_name, what=f"{self.title} file")
            part_labels = read_idx(self.data_dir / label_name, what=f"{self.title} file")
            if part_images.ndim != 3 or part_labels.ndim != 1 or len(part_images) != len(part_labels):
                raise DataError(
                    f"{self.title} files {self.data_dir / image_name} and {self.data_dir / label_name} do not match: "
                    f"images shape {part_images.shape}, labels shape {part_labels.shape}; "
                    "expected (N, H, W) images and (N,) labels"
                )
            images.append(part_images)
            labels.append(part_labels.astype(np.int64))
        return np.concatenate(images), np.concatenate(labels)
