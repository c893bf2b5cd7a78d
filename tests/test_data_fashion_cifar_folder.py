"""Specification of the Fashion-MNIST, CIFAR-10 and image-folder datamodules, on files each test writes itself."""

import io
import pickle
import shutil
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from omegaconf.errors import MissingMandatoryValue
from PIL import Image

from conftest import is_plain
from genlab.data import cifar10 as cifar10_module
from genlab.data import fashion_mnist as fashion_module
from genlab.data.cifar10 import BATCHES_DIR, CIFAR10DataModule, read_batch
from genlab.data.download import file_md5
from genlab.data.fashion_mnist import FashionMNISTDataModule
from genlab.data.image_folder import ImageFolderDataModule
from genlab.errors import ConfigError, DataError
from helpers.cifar_files import cifar_data, write_batch, write_batches
from helpers.mnist_files import T10K_FILES, write_fake_part

CONF_DIR = Path(__file__).parents[1] / "conf" / "data"


def compose(tmp_path: Path, name: str, **overrides):
    """Instantiate conf/data/<name>.yaml the way genlab-train does, with paths.data_dir=tmp_path."""
    cfg = OmegaConf.create({"seed": 3, "paths": {"data_dir": str(tmp_path)}})
    cfg.data = OmegaConf.merge(OmegaConf.load(CONF_DIR / f"{name}.yaml"), overrides)
    return instantiate(cfg.data)


# Fashion-MNIST


def test_fashion_mnist_pools_idx_parts_and_describes_its_classes(tmp_path):
    write_fake_part(tmp_path, "train", 30)
    write_fake_part(tmp_path, "t10k", 20)
    datamodule = FashionMNISTDataModule(data_dir=str(tmp_path), pool=["train", "t10k"], seed=1)
    datamodule.prepare_data()
    description = datamodule.describe()
    assert is_plain(description) and description["dataset"] == "fashion_mnist" and description["num_classes"] == 10
    assert description["split_sizes"] == {"train": 35, "val": 5, "test": 10}
    assert description["classes"][0] == "T-shirt/top" and description["classes"][9] == "Ankle boot"
    assert description["pool"] == ["train", "t10k"] and description["image_shape"] == [1, 28, 28]


def test_fashion_mnist_download_checks_fashion_md5s(tmp_path, mirror, monkeypatch):  # noqa: F811
    base_url, served = mirror
    write_fake_part(served, "t10k", 50)
    datamodule = FashionMNISTDataModule(data_dir=str(tmp_path / "dl"), download=True, mirror=base_url)
    with pytest.raises(DataError, match="checksum: expected md5 bef4ecab320f06d8554ea6380940ec79"):
        datamodule.prepare_data()  # the served fakes are not Fashion-MNIST's real files
    monkeypatch.setattr(fashion_module, "FASHION_MNIST_MD5", {name: file_md5(served / name) for name in T10K_FILES})
    datamodule.prepare_data()
    assert datamodule.describe()["split_sizes"] == {"train": 35, "val": 5, "test": 10}


def test_fashion_mnist_yaml_defaults_to_t10k_pool_in_its_own_folder(tmp_path):
    datamodule = compose(tmp_path, "fashion_mnist")
    assert type(datamodule) is FashionMNISTDataModule and datamodule.data_dir == tmp_path / "fashion_mnist"
    assert datamodule.pool == ["t10k"] and datamodule.mirror.startswith("http://fashion-mnist.s3-website")
    with pytest.raises(DataError) as caught:
        datamodule.prepare_data()
    message = str(caught.value)
    assert str(tmp_path / "fashion_mnist") in message and "data.download=true" in message and "\n" not in message
    assert all(name in message for name in T10K_FILES)


# CIFAR-10


def py2_batch_pickle(data: np.ndarray, labels: list[int]) -> bytes:
    """Protocol 2 as Python 2 wrote the real batches: str (=bytes) keys and data, numpy.core module paths."""

    def string(value: bytes) -> bytes:  # SHORT_BINSTRING or BINSTRING
        return (b"U" + bytes([len(value)]) if len(value) < 256 else b"T" + struct.pack("<i", len(value))) + value

    def integer(value: int) -> bytes:  # BININT
        return b"J" + struct.pack("<i", value)

    array = (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + integer(0) + b"\x85" + string(b"b") + b"\x87R"
        + b"(" + integer(1) + integer(data.shape[0]) + integer(data.shape[1]) + b"\x86"
        + b"cnumpy\ndtype\n" + string(b"u1") + integer(0) + integer(1) + b"\x87R"
        + b"(" + integer(3) + string(b"|") + b"NNN" + integer(-1) + integer(-1) + integer(0) + b"tb"
        + b"\x89" + string(data.tobytes()) + b"tb"
    )
    label_list = b"](" + b"".join(integer(label) for label in labels) + b"e"
    return b"\x80\x02}(" + string(b"data") + array + string(b"labels") + label_list + b"u."


@pytest.mark.parametrize("protocol", [0, 2, 4, 5, "python2"])
def test_read_batch_turns_rgb_planes_into_hwc_images_for_every_pickle_flavour(tmp_path, protocol):
    path = tmp_path / "batch"
    if protocol == "python2":
        data, labels = cifar_data(3, seed=4)
        path.write_bytes(py2_batch_pickle(data, labels))
        assert np.array_equal(pickle.loads(path.read_bytes(), encoding="bytes")[b"data"], data)  # a valid pickle
    else:
        write_batch(path, 3, seed=4, protocol=protocol)
        data, labels = cifar_data(3, seed=4)
    images, read_labels = read_batch(path)
    assert images.shape == (3, 32, 32, 3) and images.dtype == np.uint8 and read_labels.tolist() == labels
    red, green, blue = data[1, :1024], data[1, 1024:2048], data[1, 2048:]
    assert tuple(images[1, 0, 5]) == (red[5], green[5], blue[5])  # row 0, column 5
    assert tuple(images[1, 2, 0]) == (red[64], green[64], blue[64])  # row 2, column 0


class FileCreatingPayload:
    """Unpickling this calls open(target, 'w'): the kind of side effect a hostile pickle carries."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return open, (str(self.target), "w")


@pytest.mark.parametrize("protocol", [2, 4])
def test_malicious_batch_pickle_is_refused_before_it_can_create_a_file(tmp_path, protocol):
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(FileCreatingPayload(proof), protocol=protocol)).close()
    assert proof.is_file()  # the payload really is harmful with a plain unpickler
    target = tmp_path / "pwned"
    data, _ = cifar_data(2, seed=0)
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": data, b"labels": FileCreatingPayload(target)}, protocol=protocol))
    with pytest.raises(DataError) as caught:
        read_batch(path)
    message = str(caught.value)
    assert str(path) in message and f"global {open.__module__}.open," in message and "\n" not in message
    assert not target.exists()


def batch_bytes(data: np.ndarray, labels) -> bytes:
    return pickle.dumps({b"data": data, b"labels": labels})


BAD_LABELS = "has 2 images but b'labels' is not 2 integers in 0..9"
DAMAGED_BATCHES = {
    "truncated": (batch_bytes(np.zeros((2, 3072), np.uint8), [0, 1])[:-40], "is unreadable"),
    "not_pickle": (b"not a pickle at all", "is unreadable"),
    "short_rows": (batch_bytes(np.zeros((2, 100), np.uint8), [0, 1]), "is not a data batch"),
    "a_list": (pickle.dumps([1, 2, 3]), "is not a data batch"),
    "few_labels": (batch_bytes(np.zeros((2, 3072), np.uint8), [0]), BAD_LABELS),
    "label_10": (batch_bytes(np.zeros((2, 3072), np.uint8), [0, 10]), BAD_LABELS),
}


@pytest.mark.parametrize("case", sorted(DAMAGED_BATCHES))
def test_damaged_batch_raises_one_line_naming_file_and_fault(tmp_path, case):
    content, fault = DAMAGED_BATCHES[case]
    path = tmp_path / "test_batch"
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        read_batch(path)
    assert str(caught.value).startswith(f"CIFAR-10 file {path} {fault}") and "\n" not in str(caught.value)


def test_cifar10_pool_chooses_batches_and_splits_them_by_seed(tmp_path):
    write_batches(tmp_path, train_count=6, test_count=20)
    both = CIFAR10DataModule(data_dir=str(tmp_path), pool=["train", "test"])
    both.prepare_data()
    description = both.describe()
    assert description["split_sizes"] == {"train": 35, "val": 5, "test": 10}
    assert description["dataset"] == "cifar10" and description["image_shape"] == [3, 32, 32] and is_plain(description)
    assert description["classes"][:2] == ["airplane", "automobile"] and description["pool"] == ["train", "test"]
    images = both.real_images("train", 35)
    assert images.shape == (35, 3, 32, 32) and images.min() >= -1.0 and images.max() <= 1.0
    test_only = CIFAR10DataModule(data_dir=str(tmp_path), image_size=16, channels=1)
    assert test_only.pool == ["test"] and test_only.describe()["split_sizes"] == {"train": 14, "val": 2, "test": 4}
    assert test_only.real_images("val", 2).shape == (2, 1, 16, 16)


def test_cifar10_missing_batches_name_folder_files_and_download_flag(tmp_path):
    write_batch(tmp_path / BATCHES_DIR / "data_batch_1", 2)
    datamodule = CIFAR10DataModule(data_dir=str(tmp_path), pool=["train"])
    for step in (datamodule.prepare_data, datamodule.setup):
        with pytest.raises(DataError) as caught:
            step()
        message = str(caught.value)
        assert str(tmp_path / BATCHES_DIR) in message and "data.download=true" in message and "\n" not in message
        assert "data_batch_2, data_batch_3, data_batch_4, data_batch_5 (1 present)" in message


def test_cifar10_unknown_pool_entry_lists_valid_parts():
    with pytest.raises(ConfigError, match=r"data.pool must list one or more of train, test, got \['t10k'\]"):
        CIFAR10DataModule(pool=["t10k"])


def build_archive(path: Path, source_dir: Path, extra: tarfile.TarInfo | None = None) -> Path:
    """A .tar.gz of source_dir/cifar-10-batches-py, plus one extra (hostile) member when given."""
    with tarfile.open(path, "w:gz") as tar:
        tar.add(source_dir / BATCHES_DIR, arcname=BATCHES_DIR)
        if extra is not None:
            payload = b"evil" if extra.isfile() else b""
            extra.size = len(payload)
            tar.addfile(extra, io.BytesIO(payload))
    return path


def test_cifar10_download_verifies_and_extracts_the_archive(tmp_path, mirror, monkeypatch):  # noqa: F811
    base_url, served = mirror
    archive = build_archive(served / "cifar-10-python.tar.gz", write_batches(tmp_path / "src", 4, 10).parent)
    dest = tmp_path / "dl"
    with pytest.raises(DataError, match="checksum: expected md5 c58f30108f718f92721af3b95e74349a"):
        CIFAR10DataModule(data_dir=str(dest), download=True, mirror=base_url).prepare_data()
    monkeypatch.setattr(cifar10_module, "ARCHIVE_MD5", file_md5(archive))
    datamodule = CIFAR10DataModule(data_dir=str(dest), pool=["train", "test"], download=True, mirror=base_url)
    datamodule.prepare_data()
    assert sorted(path.name for path in (dest / BATCHES_DIR).iterdir())[:2] == ["data_batch_1", "data_batch_2"]
    assert datamodule.describe()["split_sizes"] == {"train": 21, "val": 3, "test": 6}
    assert not list(dest.glob(".tmp.*"))
    shutil.rmtree(served)
    datamodule.prepare_data()  # batches present: nothing fetched


def hostile_member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname = kind, link
    return member


@pytest.mark.parametrize(
    ("member", "fault"),
    [
        (hostile_member("../evil"), "unsafe member '../evil'"),
        (hostile_member(f"{BATCHES_DIR}/../../evil"), "unsafe member"),
        (hostile_member("/tmp/genlab-absolute-evil"), "unsafe member '/tmp/genlab-absolute-evil'"),
        (hostile_member(f"{BATCHES_DIR}/link", tarfile.SYMTYPE, "/etc/passwd"), "link or special file"),
    ],
)
def test_cifar10_archive_with_escaping_member_is_rejected_and_nothing_is_extracted(
    tmp_path, mirror, monkeypatch, member, fault  # noqa: F811
):
    base_url, served = mirror
    archive = build_archive(served / "cifar-10-python.tar.gz", write_batches(tmp_path / "src", 2, 2).parent, member)
    monkeypatch.setattr(cifar10_module, "ARCHIVE_MD5", file_md5(archive))
    dest = tmp_path / "nest" / "dl"
    with pytest.raises(DataError, match=f"archive .*cifar-10-python.tar.gz has an? {fault}"):
        CIFAR10DataModule(data_dir=str(dest), download=True, mirror=base_url).prepare_data()
    assert not (tmp_path / "nest" / "evil").exists() and not (tmp_path / "evil").exists()
    assert not Path("/tmp/genlab-absolute-evil").exists()
    assert sorted(path.name for path in dest.iterdir()) == [".download.lock", "cifar-10-python.tar.gz"]


def test_cifar10_yaml_instantiates_with_interpolated_data_dir(tmp_path):
    datamodule = compose(tmp_path, "cifar10")
    assert type(datamodule) is CIFAR10DataModule and datamodule.data_dir == tmp_path / "cifar10"
    assert datamodule.pool == ["test"] and (datamodule.image_size, datamodule.channels) == (32, 3)
    assert datamodule.download is False and datamodule.mirror == "https://www.cs.toronto.edu/~kriz/"
    with pytest.raises(DataError, match=str(tmp_path / "cifar10" / BATCHES_DIR)):
        datamodule.prepare_data()


# Image folder


def write_image(path: Path, color, size=(12, 9), mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)
    return path


def write_folder_tree(root: Path) -> Path:
    """root/{cat,ant,bird}: solid red/green/blue images as PNG and JPEG, some nested, plus ignored files."""
    write_image(root / "cat" / "a.png", (255, 0, 0))
    write_image(root / "cat" / "deeper" / "b.PNG", (255, 0, 0), size=(40, 30))
    write_image(root / "ant" / "a.jpg", (0, 255, 0))
    write_image(root / "ant" / "b.jpeg", (0, 255, 0))
    write_image(root / "ant" / "c.png", 128, mode="L")
    write_image(root / "bird" / "a.png", (0, 0, 255, 255), mode="RGBA")
    (root / "bird" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    return root


def test_image_folder_labels_sorted_class_folders_and_resizes_every_image(tmp_path):
    root = write_folder_tree(tmp_path / "images")
    datamodule = ImageFolderDataModule(root=str(root), image_size=8, channels=3, splits=(0.5, 0.0, 0.5))
    datamodule.prepare_data()
    description = datamodule.describe()
    assert description["classes"] == ["ant", "bird", "cat"] and description["num_classes"] == 3
    assert description["root"] == str(root) and description["image_shape"] == [3, 8, 8] and is_plain(description)
    images = torch.cat([datamodule.datasets[split].tensors[0] for split in ("train", "test")])
    labels = torch.cat([datamodule.datasets[split].tensors[1] for split in ("train", "test")])
    assert images.shape == (6, 3, 8, 8) and sorted(labels.tolist()) == [0, 0, 0, 1, 2, 2]
    red = images[labels == 2]
    assert torch.equal(red[:, 0], torch.ones_like(red[:, 0])) and torch.equal(red[:, 1], -torch.ones_like(red[:, 1]))
    blue = images[labels == 1]
    assert blue[0, 2].min().item() == 1.0 and blue[0, 0].max().item() == -1.0


def test_image_folder_gray_channels_and_num_classes_are_per_instance(tmp_path):
    two = tmp_path / "two"
    write_image(two / "x" / "a.png", (255, 255, 255))
    write_image(two / "y" / "a.jpg", (0, 0, 0))
    gray = ImageFolderDataModule(root=str(two), image_size=4, channels=1, splits=(0.0, 0.0, 1.0))
    three = ImageFolderDataModule(root=str(write_folder_tree(tmp_path / "three")), image_size=4)
    assert gray.describe()["num_classes"] == 2 and three.describe()["num_classes"] == 3
    assert ImageFolderDataModule.num_classes == 0
    images = gray.real_images("test", 2)
    assert images.shape == (2, 1, 4, 4) and sorted(images.flatten().unique().tolist()) == [-1.0, 1.0]


@pytest.mark.parametrize(
    ("layout", "fault"),
    [
        ("missing", "image folder {root} does not exist"),
        ("files_only", "image folder {root} has no class subfolders"),
        ("empty_class", "image folder {root}: class folder(s) empty hold no images (.png, .jpg, .jpeg)"),
        ("broken_image", "image file {root}/good/broken.png could not be decoded"),
    ],
)
def test_image_folder_errors_name_the_folder_or_file(tmp_path, layout, fault):
    root = tmp_path / "images"
    if layout != "missing":
        write_image(root / "loose.png", (1, 2, 3))
    if layout in ("empty_class", "broken_image"):
        write_image(root / "good" / "a.png", (1, 2, 3))
    if layout == "empty_class":
        (root / "empty").mkdir()
        (root / "empty" / "readme.txt").write_text("no images here")
    if layout == "broken_image":
        (root / "good" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    datamodule = ImageFolderDataModule(root=str(root))
    with pytest.raises(DataError) as caught:
        datamodule.setup()
    assert str(caught.value).startswith(fault.format(root=root)) and "\n" not in str(caught.value)


def test_image_folder_extensions_choose_files_and_bad_values_name_the_key(tmp_path):
    root = tmp_path / "images"
    write_image(root / "only" / "a.bmp", (9, 9, 9))
    write_image(root / "only" / "b.png", (9, 9, 9))
    datamodule = ImageFolderDataModule(root=str(root), extensions=["BMP"], splits=(0.0, 0.0, 1.0))
    assert datamodule.extensions == (".bmp",) and datamodule.describe()["split_sizes"]["test"] == 1
    for bad in ([], [""], [3]):
        with pytest.raises(ConfigError, match="data.extensions must list one or more file suffixes"):
            ImageFolderDataModule(root=str(root), extensions=bad)
    with pytest.raises(ConfigError, match="data.root must name a folder"):
        ImageFolderDataModule(root="")


def test_image_folder_yaml_requires_root_and_instantiates_with_it(tmp_path):
    with pytest.raises(MissingMandatoryValue, match="root"):
        compose(tmp_path, "image_folder")
    root = write_folder_tree(tmp_path / "images")
    datamodule = compose(tmp_path, "image_folder", root="${paths.data_dir}/images")
    assert type(datamodule) is ImageFolderDataModule and datamodule.root == root and datamodule.seed == 3
    assert datamodule.extensions == (".png", ".jpg", ".jpeg") and datamodule.describe()["image_shape"] == [3, 32, 32]


def test_image_folder_without_root_is_a_one_line_cli_error(run_cli):
    result = run_cli("train", "data=image_folder", "debug=fdr")
    assert result.exit_code == 2 and "data.root is required: add data.root=..." in result.stderr
