"""Reader for the IDX array format used by MNIST, plain or gzipped, with numpy only."""

import gzip
import zlib
from pathlib import Path

import numpy as np

from genlab.errors import DataError

IDX_DTYPES = {0x08: np.uint8}


def _read_bytes(path: Path, what: str) -> bytes:
    """Whole file contents, un-gzipped when the name ends with .gz."""
    if not path.is_file():
        raise DataError(f"{what} {path} does not exist")
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as stream:
                return stream.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        reason = str(error).replace("\n", " ") or type(error).__name__
        raise DataError(f"{what} {path} is unreadable ({reason}); delete it and fetch it again") from None


def read_idx(path: str | Path, what: str = "IDX file") -> np.ndarray:
    """Return the array stored in an IDX file; DataError (naming the file) if it is corrupt."""
    path = Path(path)
    data = _read_bytes(path, what)
    if len(data) < 4 or data[0:2] != b"\x00\x00":
        raise DataError(f"{what} {path} has a bad header: expected IDX magic 00 00, found {data[:4].hex(' ')!r}")
    dtype_code, ndim = data[2], data[3]
    if dtype_code not in IDX_DTYPES:
        valid = ", ".join(f"0x{code:02x}" for code in IDX_DTYPES)
        raise DataError(f"{what} {path} has IDX type code 0x{dtype_code:02x}; supported codes: {valid} (uint8)")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(f"{what} {path} is truncated: header needs {header_size} bytes, found {len(data)}")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_DTYPES[dtype_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header_size
    if found < expected:
        raise DataError(f"{what} {path} is truncated: expected {expected} bytes of data, found {found}")
    if found > expected:
        raise DataError(f"{what} {path} is corrupt: expected {expected} bytes of data, found {found}")
    return np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape).copy()
