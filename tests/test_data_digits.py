"""Specification of the image datamodule base, exercised through the offline digits dataset."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from conftest import is_plain
from genlab.data.digits import DigitsDataModule
from genlab.errors import ConfigError

CONF_DIR = Path(__file__).parents[1] / "conf" / "data"


def test_digits_setup_gives_16px_single_channel_images_in_unit_range_and_floor_split_sizes():
    datamodule = DigitsDataModule(image_size=16, channels=1, splits=(0.7, 0.1, 0.2), seed=0)
    datamodule.setup()
    sizes = {split: len(datamodule.datasets[split]) for split in ("train", "val", "test")}
    assert sizes == {"train": 1257, "val": 179, "test": 361}
    images, labels = datamodule.datasets["train"].tensors
    assert images.shape == (1257, 1, 16, 16) and images.dtype == torch.float32
    assert images.min().item() == -1.0 and images.max().item() == 1.0
    assert labels.dtype == torch.int64 and sorted(labels.unique().tolist()) == list(range(10))


def test_digits_train_batches_are_full_shuffled_image_label_pairs():
    datamodule = DigitsDataModule(batch_size=100)
    loader = datamodule.train_dataloader()
    batches = list(loader)
    assert len(batches) == 1257 // 100  # ragged last batch dropped
    images, labels = batches[0]
    assert images.shape == (100, 1, 16, 16) and labels.shape == (100,)
    assert len(list(datamodule.test_dataloader())) == 4  # 361 items, last batch kept


def test_digits_train_loader_keeps_a_short_split_when_smaller_than_one_batch():
    datamodule = DigitsDataModule(batch_size=2000)
    (images, _labels), = list(datamodule.train_dataloader())
    assert images.shape[0] == 1257


def test_same_seed_gives_identical_split_and_other_seed_differs():
    first, again, other = DigitsDataModule(seed=3), DigitsDataModule(seed=3), DigitsDataModule(seed=4)
    for module in (first, again, other):
        module.setup()
    assert torch.equal(first.datasets["test"].tensors[1], again.datasets["test"].tensors[1])
    assert torch.equal(first.real_images("train", 1257), again.real_images("train", 1257))
    assert not torch.equal(first.real_images("train", 1257), other.real_images("train", 1257))


def test_setup_is_idempotent():
    datamodule = DigitsDataModule()
    datamodule.setup("fit")
    train = datamodule.datasets["train"]
    datamodule.setup("test")
    assert datamodule.datasets["train"] is train


def test_describe_is_json_ready_and_reports_shape_range_and_split_sizes():
    description = DigitsDataModule(image_size=16, seed=7).describe()
    assert is_plain(description)
    assert json.loads(json.dumps(description)) == description
    assert description == {
        "dataset": "digits",
        "image_shape": [1, 16, 16],
        "num_classes": 10,
        "value_range": [-1.0, 1.0],
        "split_sizes": {"train": 1257, "val": 179, "test": 361},
        "splits": [0.7, 0.1, 0.2],
        "seed": 7,
    }


def test_three_channels_repeat_the_gray_image():
    datamodule = DigitsDataModule(channels=3, image_size=8)
    images = datamodule.real_images("val", 5)
    assert images.shape == (5, 3, 8, 8)
    assert torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 1], images[:, 2])
    assert datamodule.describe()["image_shape"] == [3, 8, 8]


def test_real_images_returns_first_n_and_rejects_unknown_split():
    datamodule = DigitsDataModule()
    assert torch.equal(datamodule.real_images("test", 10), datamodule.datasets["test"].tensors[0][:10])
    assert datamodule.real_images("test", 5000).shape[0] == 361
    with pytest.raises(ConfigError, match="'valid'.*train, val, test"):
        datamodule.real_images("valid", 3)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"batch_size": 0}, "data.batch_size must be an integer >= 1, got 0"),
        ({"image_size": -4}, "data.image_size"),
        ({"channels": 2}, "data.channels"),
        ({"num_workers": -1}, "data.num_workers"),
        ({"splits": (0.5, 0.1, 0.2)}, "data.splits"),
        ({"splits": (0.9, 0.1)}, "data.splits"),
        ({"splits": (1.2, -0.1, -0.1)}, "data.splits"),
    ],
)
def test_bad_constructor_values_raise_config_error_naming_the_key(kwargs, key):
    with pytest.raises(ConfigError) as caught:
        DigitsDataModule(**kwargs)
    assert key in str(caught.value)


def test_digits_yaml_instantiates_with_listconfig_splits_and_interpolated_seed():
    cfg = OmegaConf.create({"seed": 5, "data": OmegaConf.load(CONF_DIR / "digits.yaml")})
    datamodule = instantiate(cfg.data)
    assert isinstance(datamodule, DigitsDataModule)
    assert datamodule.seed == 5 and datamodule.splits == [0.7, 0.1, 0.2]
    assert is_plain(datamodule.describe())


@pytest.mark.parametrize("bundled_file", [True, False])
def test_digits_are_scikit_learns_read_from_its_bundled_file_or_through_it(monkeypatch, bundled_file):
    from sklearn.datasets import load_digits

    import genlab.data.digits as digits_module

    if not bundled_file:  # a scikit-learn that keeps the file elsewhere: its load_digits serves
        monkeypatch.setattr(digits_module, "bundled_digits_csv", lambda: None)
    else:
        assert digits_module.bundled_digits_csv().name == "digits.csv.gz"
    images, labels = DigitsDataModule().load_arrays()
    reference = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8 and images.max() == 255
    assert np.array_equal(images, np.round(reference.images * 255.0 / 16.0).astype(np.uint8))
    assert np.array_equal(labels, reference.target)


def test_importing_the_digits_module_does_not_import_scikit_learn():
    code = "import sys, genlab.data.digits; sys.exit('sklearn' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
