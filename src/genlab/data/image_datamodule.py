"""Shared base for in-memory labelled image datasets: resize, scale to [-1, 1], split, batch."""

import math
from numbers import Real

import numpy as np
import torch
from lightning.pytorch import LightningDataModule
from PIL import Image
from torch.utils.data import DataLoader

from genlab.checks import integer
from genlab.data.augment import random_shift
from genlab.data.batched import BatchedTensors, whole_batch
from genlab.data.epoch_samplers import ResumableTrainOrder, ShuffleSampler, loader_generator
from genlab.errors import ConfigError, DataError

SPLIT_NAMES = ("train", "val", "test")
BINARIZATIONS = (None, "threshold", "sample")
BINARIZE_SEED = 0  # data.binarize=sample draws every pixel once with this seed: one fixed binary dataset



def _split_fractions(splits) -> list[float]:
    """Return splits as 3 floats summing to 1, else raise ConfigError naming data.splits."""
    problem = "must be 3 non-negative numbers (train, val, test) summing to 1"
    if isinstance(splits, (str, bytes)) or not hasattr(splits, "__iter__"):
        raise ConfigError(f"data.splits {problem}, got {splits!r}")
    fractions = list(splits)
    if len(fractions) != 3 or not all(isinstance(f, Real) and not isinstance(f, bool) and f >= 0 for f in fractions):
        raise ConfigError(f"data.splits {problem}, got {fractions!r}")
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise ConfigError(f"data.splits {problem}, got {fractions!r} (sum {sum(fractions):g})")
    return [float(f) for f in fractions]


class ImageDataModule(ResumableTrainOrder, LightningDataModule):
    """Loads a whole labelled image dataset into memory and serves (images, labels) batches."""

    name: str = "images"
    num_classes: int = 0

    def __init__(
        self,
        batch_size: int = 64,
        num_workers: int = 0,
        image_size: int = 16,
        channels: int = 1,
        splits: tuple[float, float, float] = (0.7, 0.1, 0.2),
        seed: int = 0,
        binarize: str | None = None,
        augment_shift: int = 0,
    ) -> None:
        super().__init__()
        if binarize not in BINARIZATIONS:
            raise ConfigError(f"data.binarize must be null, threshold or sample, got {binarize!r}")
        self.binarize = binarize
        self.augment_shift = integer("data.augment_shift", augment_shift, minimum=0)
        self.batch_size = integer("data.batch_size", batch_size)
        self.num_workers = integer("data.num_workers", num_workers, minimum=0)
        self.image_size = integer("data.image_size", image_size)
        if channels not in (1, 3) or isinstance(channels, bool):
            raise ConfigError(f"data.channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")
        self.channels = int(channels)
        self.splits = _split_fractions(splits)
        self.seed = integer("data.seed", seed, minimum=0)
        self.datasets: dict[str, BatchedTensors] | None = None

    def load_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Return uint8 images (N, H, W) or (N, H, W, C) and integer labels (N,)."""
        raise NotImplementedError(f"{type(self).__name__} must implement load_arrays()")

    def describe_extras(self) -> dict:
        """Subclass-specific entries added to describe(); plain Python types only."""
        return {}

    def setup(self, stage: str | None = None) -> None:
        """Load, convert and split the dataset once; later calls do nothing."""
        if self.datasets is not None:
            return
        images, labels = self.load_arrays()
        images = self._binarized(self._to_tensor(self._check_images(images, labels)))
        labels = torch.from_numpy(np.asarray(labels).astype(np.int64))
        self.datasets = {
            split: BatchedTensors(images[index], labels[index])
            for split, index in zip(SPLIT_NAMES, self._split_indices(len(labels)))
        }

    def _check_images(self, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Return images as uint8 (N, H, W, C) with C in (1, 3), or raise DataError."""
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim == 3:
            images = images[..., None]
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise DataError(
                f"dataset {self.name!r} gave images of dtype {images.dtype} and shape {images.shape}; "
                "expected uint8 (N, H, W) or (N, H, W, C) with C 1 or 3"
            )
        if labels.ndim != 1 or len(labels) != len(images) or not np.issubdtype(labels.dtype, np.integer):
            raise DataError(
                f"dataset {self.name!r} gave {len(images)} images but labels of dtype {labels.dtype} "
                f"and shape {labels.shape}; expected one integer label per image"
            )
        return images

    def _to_tensor(self, images: np.ndarray) -> torch.Tensor:
        """Resize to image_size, match channels, scale to float32 [-1, 1]; (N, C, H, W)."""
        size = self.image_size
        needs_resize = images.shape[1:3] != (size, size)
        to_gray = images.shape[-1] == 3 and self.channels == 1
        if needs_resize or to_gray:
            images = np.stack([self._convert_one(image, needs_resize, to_gray) for image in images])
        if images.shape[-1] == 1 and self.channels == 3:
            images = np.repeat(images, 3, axis=-1)
        scaled = images.astype(np.float32) / 127.5 - 1.0  # (N, H, W, C)
        return torch.from_numpy(np.ascontiguousarray(scaled.transpose(0, 3, 1, 2)))

    def _binarized(self, images: torch.Tensor) -> torch.Tensor:
        """Images as fixed binary images (-1 or 1) when data.binarize asks: each pixel above half intensity
        (threshold), or drawn once as Bernoulli(intensity) with a fixed seed, the same for every run (sample)."""
        if self.binarize is None:
            return images
        intensities = (images + 1) / 2
        if self.binarize == "threshold":
            on = intensities > 0.5
        else:
            on = torch.rand(images.shape, generator=torch.Generator().manual_seed(BINARIZE_SEED)) < intensities
        return on.float() * 2 - 1

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """Training batches moved by up to data.augment_shift pixels, seeded by (seed, step): resumes repeat them."""
        if not self.augment_shift or self.trainer is None or not self.trainer.training:
            return batch
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.trainer.global_step)
        return (random_shift(batch[0], self.augment_shift, generator), *batch[1:])

    def _convert_one(self, image: np.ndarray, resize: bool, to_gray: bool) -> np.ndarray:
        """Resize (bilinear) and/or gray-convert one (H, W, C) uint8 image with Pillow."""
        picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        if to_gray:
            picture = picture.convert("L")
        if resize:
            picture = picture.resize((self.image_size, self.image_size), Image.Resampling.BILINEAR)
        array = np.asarray(picture, dtype=np.uint8)
        return array[..., None] if array.ndim == 2 else array

    def _split_indices(self, count: int) -> list[np.ndarray]:
        """Seeded permutation cut into train, val (floor of fraction) and test (remainder)."""
        order = np.random.default_rng(self.seed).permutation(count)
        n_train = math.floor(self.splits[0] * count + 1e-9)
        n_val = math.floor(self.splits[1] * count + 1e-9)
        return [order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]]

    def _dataset(self, split: str) -> BatchedTensors:
        """The dataset of split, running setup first if needed."""
        if split not in SPLIT_NAMES:
            raise ConfigError(f"unknown data split {split!r}; valid splits are {', '.join(SPLIT_NAMES)}")
        self.setup()
        return self.datasets[split]

    def _loader(self, split: str, sampler: ShuffleSampler | None = None, drop_last: bool = False) -> DataLoader:
        """A DataLoader over one split (in order, or in the sampler's order) with this module's batch size and workers."""
        return DataLoader(
            self._dataset(split),
            batch_size=self.batch_size,
            sampler=sampler,
            drop_last=drop_last,
            collate_fn=whole_batch,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            generator=loader_generator(self.seed) if split == "train" else None,
        )

    def train_dataloader(self) -> DataLoader:
        """Train batches shuffled per (seed, epoch), resumable mid-epoch; drops the ragged last batch when a full one exists."""
        count = len(self._dataset("train"))
        sampler = self.resume_sampler(ShuffleSampler(count, self.seed), self.batch_size)
        return self._loader("train", sampler, drop_last=count >= self.batch_size)

    def val_dataloader(self) -> DataLoader:
        """Validation batches in fixed order."""
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        """Test batches in fixed order."""
        return self._loader("test")

    def real_images(self, split: str, n: int) -> torch.Tensor:
        """First n images of split (all of them if it holds fewer), as (n, C, H, W) in [-1, 1]."""
        images = self._dataset(split).tensors[0]
        return images[: integer("n", n, minimum=0)]

    def describe(self) -> dict:
        """JSON-ready summary of the data: name, shape, range, split sizes, seed and extras."""
        self.setup()
        return {
            "dataset": self.name,
            "image_shape": [self.channels, self.image_size, self.image_size],
            "num_classes": int(self.num_classes),
            "value_range": [-1.0, 1.0],
            "split_sizes": {split: len(self.datasets[split]) for split in SPLIT_NAMES},
            "splits": list(self.splits),
            "seed": self.seed,
            **({"binarize": self.binarize} if self.binarize else {}),
            **self.describe_extras(),
        }
