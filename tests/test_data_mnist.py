"""Specification of MNIST loading: the IDX reader, missing files, real data and downloads."""

import gzip
import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from genlab.data import mnist as mnist_module
from genlab.data.download import file_md5
from genlab.data.idx import read_idx
from genlab.data.mnist import MNISTDataModule
from genlab.errors import ConfigError, DataError
from helpers.mnist_files import T10K_FILES, write_fake_part, write_idx

CONF_DIR = Path(__file__).parents[1] / "conf" / "data"
SHARED_DATA = Path(os.environ.get("GENLAB_DATA_DIR", Path(__file__).parents[1].parent / "shared" / "data"))
SHORT_IDX = bytes([0, 0, 0x08, 1, 0, 0, 0, 100]) + bytes(40)  # header promises 100 bytes
CORRUPT_FILES = {
    "short-idx1-ubyte": (SHORT_IDX, "is truncated: expected 100 bytes of data, found 40"),
    "short-idx1-ubyte.gz": (gzip.compress(SHORT_IDX), "is truncated: expected 100 bytes of data, found 40"),
    "cut.gz": (gzip.compress(bytes(4000))[:30], "is unreadable"),
    "bad-magic": (b"\x1f\x00\x08\x01" + bytes(8), "has a bad header: expected IDX magic 00 00"),
    "floats": (bytes([0, 0, 0x0D, 1, 0, 0, 0, 1]) + bytes(4), "has IDX type code 0x0d; supported codes: 0x08"),
}


@pytest.fixture
def shared_mnist_dir() -> Path:
    """The real t10k files shared between checkouts; skips where they are absent."""
    directory = SHARED_DATA / "mnist"
    if not all((directory / name).is_file() for name in T10K_FILES):
        pytest.skip(f"real MNIST t10k files not found in {directory} (set GENLAB_DATA_DIR)")
    return directory





@pytest.mark.parametrize("name", ["arr-idx3-ubyte", "arr-idx3-ubyte.gz"])
def test_read_idx_round_trips_raw_and_gzipped_arrays(tmp_path, name):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    result = read_idx(write_idx(tmp_path / name, array))
    assert result.dtype == np.uint8 and np.array_equal(result, array)


@pytest.mark.parametrize("name", sorted(CORRUPT_FILES))
def test_read_idx_corrupt_file_raises_one_line_naming_file_and_fault(tmp_path, name):
    content, fault = CORRUPT_FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        read_idx(path, what="MNIST file")
    assert str(caught.value).startswith(f"MNIST file {path} {fault}") and "\n" not in str(caught.value)


def test_missing_files_name_directory_expected_files_and_download_flag(tmp_path):
    datamodule = MNISTDataModule(data_dir=str(tmp_path), pool=["t10k"])
    for step in (datamodule.prepare_data, datamodule.setup):
        with pytest.raises(DataError) as caught:
            step()
        message = str(caught.value)
        assert str(tmp_path) in message and "data.download=true" in message and "\n" not in message
        assert all(name in message for name in T10K_FILES)


def test_unknown_pool_entry_lists_valid_parts():
    with pytest.raises(ConfigError, match="data.pool must list one or more of train, t10k, got \\['val'\\]"):
        MNISTDataModule(pool=["val"])


def test_pool_concatenates_parts_and_describe_reports_pool(tmp_path):
    write_fake_part(tmp_path, "train", 30)
    write_fake_part(tmp_path, "t10k", 20)
    datamodule = MNISTDataModule(data_dir=str(tmp_path), pool=["train", "t10k"], image_size=14)
    datamodule.prepare_data()
    description = datamodule.describe()
    assert description["split_sizes"] == {"train": 35, "val": 5, "test": 10}
    assert description["pool"] == ["train", "t10k"] and description["data_dir"] == str(tmp_path)
    assert description["image_shape"] == [1, 14, 14]


def test_image_label_count_mismatch_names_both_files(tmp_path):
    write_fake_part(tmp_path, "t10k", 20)
    write_idx(tmp_path / T10K_FILES[1], np.zeros(19, dtype=np.uint8))
    with pytest.raises(DataError, match=f"{T10K_FILES[0]} and .*{T10K_FILES[1]} do not match"):
        MNISTDataModule(data_dir=str(tmp_path)).setup()


def test_real_t10k_pool_splits_7000_1000_2000_of_28px_digits(shared_mnist_dir):
    datamodule = MNISTDataModule(data_dir=str(shared_mnist_dir))
    datamodule.prepare_data()
    assert datamodule.describe()["split_sizes"] == {"train": 7000, "val": 1000, "test": 2000}
    images, labels = datamodule.datasets["train"].tensors
    assert images.shape == (7000, 1, 28, 28) and images.dtype == torch.float32
    assert images.min().item() == -1.0 and images.max().item() == 1.0
    all_labels = torch.cat([datamodule.datasets[split].tensors[1] for split in ("train", "val", "test")])
    assert sorted(all_labels.unique().tolist()) == list(range(10))


def test_download_fetches_pool_files_with_checked_md5(tmp_path, mirror, monkeypatch):
    base_url, served = mirror
    write_fake_part(served, "t10k", 50)
    md5s = {name: file_md5(served / name) for name in T10K_FILES}
    monkeypatch.setattr(mnist_module, "MNIST_MD5", md5s)
    datamodule = MNISTDataModule(data_dir=str(tmp_path / "dl"), download=True, mirror=base_url)
    datamodule.prepare_data()
    assert {name: file_md5(tmp_path / "dl" / name) for name in T10K_FILES} == md5s
    assert datamodule.describe()["split_sizes"] == {"train": 35, "val": 5, "test": 10}
    shutil.rmtree(served)
    datamodule.prepare_data()  # files already present with the right md5: nothing fetched


def test_download_checksum_mismatch_raises_and_leaves_no_partial_file(tmp_path, mirror, monkeypatch):
    base_url, served = mirror
    write_fake_part(served, "t10k", 50)
    actual = file_md5(served / T10K_FILES[0])
    monkeypatch.setattr(mnist_module, "MNIST_MD5", {name: "0" * 32 for name in T10K_FILES})
    dest = tmp_path / "dl"
    with pytest.raises(DataError) as caught:
        MNISTDataModule(data_dir=str(dest), download=True, mirror=base_url).prepare_data()
    message = str(caught.value)
    assert "checksum" in message and T10K_FILES[0] in message and "0" * 32 in message and actual in message
    assert [path.name for path in dest.iterdir() if path.name != ".download.lock"] == []


def test_unreachable_mirror_names_url_and_directory(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}/mnist"
    with pytest.raises(DataError) as caught:
        MNISTDataModule(data_dir=str(tmp_path), download=True, mirror=base_url).prepare_data()
    message = str(caught.value)
    assert f"{base_url}/{T10K_FILES[0]}" in message and str(tmp_path) in message and "\n" not in message


def test_download_of_real_t10k_files_verifies_standard_md5(tmp_path, mirror, shared_mnist_dir):
    base_url, served = mirror
    for name in T10K_FILES:
        shutil.copy(shared_mnist_dir / name, served / name)
    datamodule = MNISTDataModule(data_dir=str(tmp_path / "dl"), download=True, mirror=base_url)
    datamodule.prepare_data()
    assert all(file_md5(tmp_path / "dl" / name) == mnist_module.MNIST_MD5[name] for name in T10K_FILES)
    assert len(datamodule.real_images("test", 2000)) == 2000


def test_mnist_yaml_instantiates_with_interpolated_data_dir(tmp_path):
    cfg = OmegaConf.create({"seed": 1, "paths": {"data_dir": str(tmp_path)}})
    cfg.data = OmegaConf.load(CONF_DIR / "mnist.yaml")
    datamodule = instantiate(cfg.data)
    assert type(datamodule) is MNISTDataModule and datamodule.data_dir == tmp_path / "mnist"
    assert datamodule.pool == ["t10k"] and datamodule.image_size == 28 and datamodule.download is False
    with pytest.raises(DataError, match=str(tmp_path / "mnist")):
        datamodule.prepare_data()
