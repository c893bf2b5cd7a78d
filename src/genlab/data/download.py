"""Fetch dataset files over HTTP(S) with md5 checks, atomic renames and a cross-process lock."""

import hashlib
import http.client
import os
import tempfile
import urllib.request
from pathlib import Path

from filelock import FileLock

from genlab.errors import DataError

TIMEOUT_S = 30
CHUNK_BYTES = 1 << 20


def file_md5(path: Path) -> str:
    """Hex md5 digest of a file's bytes."""
    digest = hashlib.md5()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(url: str, name: str, dest_dir: Path, expected_md5: str) -> None:
    """Download url into dest_dir/name via a temp file that is verified, then renamed."""
    handle, temp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{name}.", suffix=".part")
    temp_path = Path(temp_name)
    try:
        digest = hashlib.md5()
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != expected_md5:
            raise DataError(
                f"downloaded {name} from {url} failed its checksum: expected md5 {expected_md5}, "
                f"got {digest.hexdigest()}; the mirror may be corrupt, try another or place the file in {dest_dir}"
            )
        os.replace(temp_path, dest_dir / name)
    except (OSError, http.client.HTTPException) as error:
        reason = str(getattr(error, "reason", None) or error).replace("\n", " ") or type(error).__name__
        raise DataError(
            f"could not download {url} ({reason}); place {name} (md5 {expected_md5}) in {dest_dir} by hand"
        ) from None
    finally:
        temp_path.unlink(missing_ok=True)


def download_files(base_url: str, dest_dir: str | Path, files: dict[str, str]) -> list[Path]:
    """Ensure each name in files (name -> md5) is in dest_dir with that md5; return their paths."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest_dir / ".download.lock")):
        for name, expected_md5 in files.items():
            target = dest_dir / name
            if target.is_file() and file_md5(target) == expected_md5:
                continue
            _fetch(base_url.rstrip("/") + "/" + name, name, dest_dir, expected_md5)
    return [dest_dir / name for name in files]
