"""CIFAR-10 (32x32 RGB, 10 classes) from the python pickle batches, read with a restricted unpickler."""

import os
import pickle
import re
import tarfile
import tempfile
import zlib
from importlib.util import find_spec
from pathlib import Path, PurePosixPath

import numpy as np
from filelock import FileLock

from genlab.data.download import download_files
from genlab.data.pooled_files import PooledFilesDataModule
from genlab.errors import DataError

BATCHES_DIR = "cifar-10-batches-py"
CIFAR10_BATCHES = {"train": tuple(f"data_batch_{index}" for index in range(1, 6)), "test": ("test_batch",)}
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
ARCHIVE_NAME = "cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
DEFAULT_MIRROR = "https://www.cs.toronto.edu/~kriz/"
IMAGE_BYTES = 3 * 32 * 32  # one row of b'data': the R, G and B 32x32 planes, row-major

# The only globals a batch pickle may name: ndarray reconstruction (numpy 1 and 2 module paths, pickle
# protocols 0-5) and _codecs.encode, which protocol <= 2 pickles written by Python 3 use to rebuild bytes.
ALLOWED_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),
    }
)
NUMPY_CORE = "numpy._core" if find_spec("numpy._core") else "numpy.core"


def _latin1_encode(text: str, encoding: str = "latin1", errors: str = "strict") -> bytes:
    """_codecs.encode limited to the latin-1 codec that pickled bytes use."""
    if encoding.lower().replace("-", "") != "latin1":
        raise pickle.UnpicklingError(f"codec {encoding!r} is not allowed")
    return text.encode("latin1", errors)


class _BatchUnpickler(pickle.Unpickler):
    """Builds only dicts, lists, bytes, str, numbers and numpy arrays; any other global raises DataError."""

    def __init__(self, stream, path: Path) -> None:
        super().__init__(stream, encoding="bytes")  # Python 2 str (the original batches) -> bytes
        self.path = path

    def find_class(self, module: str, name: str):
        """The allowed global (numpy.core and numpy._core are aliases); DataError naming any other."""
        if (module, name) not in ALLOWED_GLOBALS:
            raise DataError(
                f"CIFAR-10 file {self.path} refers to the global {module}.{name}, which a data batch never needs; "
                "refusing to load it (the file may be malicious: delete it and fetch it again)"
            )
        if module == "_codecs":
            return _latin1_encode
        return super().find_class(re.sub(r"^numpy\._?core\b", NUMPY_CORE, module), name)


def _entry(batch: dict, key: str):
    """batch[b'key'] (or batch['key']), or None."""
    return batch.get(key.encode(), batch.get(key))


def read_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 32, 32, 3) uint8 and labels (N,) int64 from one CIFAR-10 pickle batch."""
    path = Path(path)
    try:
        with open(path, "rb") as stream:
            batch = _BatchUnpickler(stream, path).load()
    except DataError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever a damaged pickle raises means the same to the user
        reason = str(error).replace("\n", " ") or type(error).__name__
        raise DataError(f"CIFAR-10 file {path} is unreadable ({reason}); delete it and fetch it again") from None
    data = _entry(batch, "data") if isinstance(batch, dict) else None
    labels = np.asarray(_entry(batch, "labels") if isinstance(batch, dict) else None)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != IMAGE_BYTES:
        found = f"dtype {data.dtype}, shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(
            f"CIFAR-10 file {path} is not a data batch: expected a dict whose b'data' is uint8 (N, {IMAGE_BYTES}), "
            f"found {found}"
        )
    integers = labels.shape == (len(data),) and np.issubdtype(labels.dtype, np.integer)
    if not integers or not np.isin(labels, range(10)).all():
        raise DataError(
            f"CIFAR-10 file {path} has {len(data)} images but b'labels' is not {len(data)} integers in 0..9"
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # (N, C, H, W) -> (N, H, W, C)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def _check_member(archive: Path, member: tarfile.TarInfo) -> None:
    """Raise DataError unless member is a plain file or folder that stays inside the target folder."""
    parts = PurePosixPath(member.name.replace("\\", "/")).parts
    if member.name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        raise DataError(
            f"archive {archive} has an unsafe member {member.name!r} (absolute path or '..'); refusing to extract it"
        )
    if not (member.isfile() or member.isdir()):
        raise DataError(f"archive {archive} has a link or special file {member.name!r}; refusing to extract it")


def extract_archive(archive: str | Path, dest_dir: str | Path) -> None:
    """Unpack a .tar.gz into dest_dir after checking every member; each file lands by atomic rename."""
    archive, dest_dir = Path(archive), Path(dest_dir)
    safety = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    dest_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:gz") as tar, tempfile.TemporaryDirectory(dir=dest_dir, prefix=".tmp.") as temp:
            members = tar.getmembers()
            for member in members:
                _check_member(archive, member)
            tar.extractall(temp, members=members, **safety)
            for source in sorted(path for path in Path(temp).rglob("*") if path.is_file()):
                target = dest_dir / source.relative_to(temp)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        reason = str(error).replace("\n", " ") or type(error).__name__
        raise DataError(
            f"archive {archive} could not be extracted ({reason}); delete it and download it again"
        ) from None


class CIFAR10DataModule(PooledFilesDataModule):
    """CIFAR-10 images pooled from the chosen parts (train: data_batch_1..5, test: test_batch), then split."""

    name = "cifar10"
    title = "CIFAR-10"
    parts = CIFAR10_BATCHES
    num_classes = 10
    default_mirror = DEFAULT_MIRROR
    native_size, native_channels = 32, 3
    default_pool = ("test",)

    @property
    def files_dir(self) -> Path:
        """The folder holding the pickle batches: data_dir/cifar-10-batches-py."""
        return self.data_dir / BATCHES_DIR

    def missing_hint(self) -> str:
        return f"unpack {ARCHIVE_NAME} into {self.data_dir}, or set data.download=true to fetch it when online"

    def prepare_data(self) -> None:
        """Download (md5-checked) and safely unpack the archive when download is true and batches are missing."""
        if self.download and self.missing_files():
            (archive,) = download_files(self.mirror, self.data_dir, {ARCHIVE_NAME: ARCHIVE_MD5})
            with FileLock(str(self.data_dir / ".download.lock")):
                if self.missing_files():
                    extract_archive(archive, self.data_dir)
            if self.missing_files():
                raise DataError(f"archive {archive} has no {BATCHES_DIR}/ files {', '.join(self.missing_files())}")
        self.require_files()

    def load_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Concatenate the pool's images (N, 32, 32, 3) uint8 and labels (N,)."""
        self.require_files()
        batches = [read_batch(self.files_dir / name) for name in self.pool_files()]
        return np.concatenate([images for images, _ in batches]), np.concatenate([labels for _, labels in batches])

    def describe_extras(self) -> dict:
        """The pool, the directory read from and the class names (label order)."""
        return {**super().describe_extras(), "classes": list(CIFAR10_CLASSES)}
