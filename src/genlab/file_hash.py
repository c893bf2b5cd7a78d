"""File hashes that identify a file's exact contents (checkpoints a run starts from or adapts)."""
import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """sha256 of the file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
