"""Facts about where a run executes: code version, library versions, host (no heavy imports)."""
import os
import socket
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version

TRACKED_PACKAGES = ("genlab", "torch", "lightning", "hydra-core", "omegaconf", "torchmetrics")


def package_versions() -> dict[str, str | None]:
    """Installed versions of the libraries that decide a run's numbers."""
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def git_state(cwd: str | None = None) -> dict[str, object]:
    """The commit sha and whether the work tree has uncommitted changes (None outside a git checkout)."""
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        return {"sha": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.SubprocessError):
        return {"sha": None, "dirty": None}


def process_identity() -> dict[str, object]:
    """Host, pid and command line: with the heartbeat, what tells a live run from a dead one."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "command": " ".join([sys.executable, *sys.argv])}
