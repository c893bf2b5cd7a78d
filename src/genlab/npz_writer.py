"""NpzArrayWriter: one array of a compressed .npz written chunk by chunk, so saving it never holds it whole."""
import contextlib
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from genlab.runs.atomic import atomic_file


class NpzArrayWriter:
    """Appends rows to array `name` (`num_rows` rows in all) of a new .npz that `np.load(path)[name]` reads whole.

    A .npz is a zip of .npy files: the .npy header (with the full shape) goes first, then each chunk's bytes,
    deflated as they come. The file replaces `path` only once complete (`atomic_file`); an error, or fewer rows than
    announced, leaves `path` as it was.
    """

    def __init__(self, path: Path, name: str, num_rows: int):
        self.path, self.name, self.num_rows = Path(path), name, num_rows
        self.rows_written, self.row_shape, self.dtype = 0, None, None
        self._files = contextlib.ExitStack()

    def __enter__(self) -> "NpzArrayWriter":
        handle = self._files.enter_context(atomic_file(self.path))
        archive = self._files.enter_context(
            zipfile.ZipFile(handle, mode="w", compression=zipfile.ZIP_DEFLATED, allowZip64=True))
        self.entry = self._files.enter_context(archive.open(f"{self.name}.npy", mode="w", force_zip64=True))
        return self

    def append(self, rows: np.ndarray) -> None:
        """Write the next rows; the first chunk fixes the row shape and dtype of the whole array."""
        rows = np.ascontiguousarray(rows)
        if self.row_shape is None:
            self.row_shape, self.dtype = rows.shape[1:], rows.dtype
            header = {"descr": npy_format.dtype_to_descr(rows.dtype), "fortran_order": False,
                      "shape": (self.num_rows, *self.row_shape)}
            npy_format.write_array_header_1_0(self.entry, header)
        if rows.shape[1:] != self.row_shape or rows.dtype != self.dtype:
            raise ValueError(f"{self.path}: rows of shape {rows.shape[1:]} and dtype {rows.dtype} cannot follow "
                             f"rows of shape {self.row_shape} and dtype {self.dtype}")
        if self.rows_written + len(rows) > self.num_rows:
            raise ValueError(f"{self.path}: {self.rows_written + len(rows)} rows is more than the "
                             f"{self.num_rows} announced")
        self.entry.write(rows.tobytes())
        self.rows_written += len(rows)

    def __exit__(self, error_type, error, traceback) -> None:
        if error_type is None and self.rows_written != self.num_rows:
            error = ValueError(f"{self.path}: {self.rows_written} rows written of the {self.num_rows} announced")
            self._files.__exit__(ValueError, error, None)
            raise error
        self._files.__exit__(error_type, error, traceback)
