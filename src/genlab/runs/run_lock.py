"""An exclusive lock on a run dir for the life of the process that trains in it: a second genlab process (a run_id
given twice, two resumes of one run) fails in one line instead of interleaving its rows and logs with the first's.

The lock is an flock on the directory itself (nothing is written into the run), released by the OS when the holder
exits, however it exits.
"""
import fcntl
import os
from pathlib import Path

from genlab.errors import ConfigError
from genlab.runs.rank import global_rank
from genlab.runs.run_info import read_run_info

_held: dict[Path, int] = {}  # resolved run dir → the open descriptor holding its lock


def lock_holder(directory: Path) -> int | None:
    """The pid holding an flock on `directory`, from /proc/locks (Linux); None when it cannot be told."""
    try:
        stat = directory.stat()
        table = Path("/proc/locks").read_text()
    except OSError:
        return None
    inode = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    for line in table.splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == inode and fields[4].isdigit():
            return int(fields[4])
    return None


def describe_holder(directory: Path) -> str:
    """'pid 4242' (and its host, from run_info.json) of the process holding the run."""
    try:
        info = read_run_info(directory)
    except ValueError:
        info = {}
    pid = lock_holder(directory) or info.get("pid")
    host = f" on {info['host']}" if info.get("host") and info.get("pid") == pid else ""
    return f"pid {pid}{host}" if pid else "another process"


def hold_run_dir(run_dir) -> None:
    """Take the run dir's lock for this process (once; DDP ranks > 0 share their rank 0's); ConfigError naming the dir
    and the live pid when another process holds it."""
    directory = Path(run_dir).resolve()
    if directory in _held or global_rank() != 0 or not directory.is_dir():
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise ConfigError(f"{run_dir} is in use by another genlab process ({describe_holder(directory)}); "
                          "wait for it to end, or stop it first") from None
    _held[directory] = descriptor


def release_run_dir(run_dir) -> None:
    """Give the run dir's lock back (the next job of a multirun, or a test, may take it)."""
    descriptor = _held.pop(Path(run_dir).resolve(), None)
    if descriptor is not None:
        os.close(descriptor)


def release_all() -> None:
    """Give back every run dir lock this process holds."""
    for directory in list(_held):
        release_run_dir(directory)
