"""One-line reports for bad input: replaces Hydra's multi-screen error printing for user errors only."""
import contextlib
import errno
import os
import re
import sys
from pathlib import Path

import hydra._internal.utils as hydra_utils
from hydra.errors import HydraException, MissingConfigException
from omegaconf.errors import OmegaConfBaseException

from genlab.errors import GenlabError, state_dict_mismatch
from genlab.runs.run_info import RUN_INFO_FILE
from genlab.runs.run_lock import hold_run_dir, release_all
from genlab.runs.secrets import redact

USER_ERROR_EXIT_CODE = 2
COMMAND = ["train"]  # the running app's config name (train, eval, sample), set by install()
# A path genlab must create or write is below a file, read-only, or the disk is full: the user's setup, not a bug.
UNWRITABLE_ERRNOS = (errno.ENOTDIR, errno.EEXIST, errno.EISDIR, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC)


def _causes(error: BaseException):
    """The error and every error it was raised from, outermost first."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _full_key(error: BaseException) -> str | None:
    match = re.search(r"full_key: (\S+)", str(error))
    return match.group(1) if match else None


def describe_missing_option(error: MissingConfigException) -> str:
    """`model=nope` → "unknown model option 'nope'; valid options: dcgan, ..."."""
    match = re.search(r"Could not find '([^']+)'", str(error))
    group, _, option = (match.group(1) if match else str(error)).rpartition("/")
    if error.options:
        return f"unknown {group} option '{option}'; valid options: {', '.join(sorted(error.options))}"
    return f"config '{match.group(1) if match else error}' not found"


def unknown_key(error: OmegaConfBaseException) -> str | None:
    """The full key an OmegaConf struct error names ("Key 'z_dim' is not in struct", full_key: model.z_dim)."""
    struct = re.search(r"Key '([^']+)' (?:is )?not in (?:struct|'\w+')", str(error).splitlines()[0])
    return (_full_key(error) or struct.group(1)) if struct else None


def describe_omegaconf(error: OmegaConfBaseException) -> str:
    """An OmegaConf error as "<key>: <first line>", with struct errors said plainly."""
    first_line = str(error).splitlines()[0]
    missing = re.search(r"Missing mandatory value: (\S+)", first_line)
    if missing:
        return f"{missing.group(1)} is required: add {missing.group(1)}=..."
    key = unknown_key(error)
    if key:
        from genlab.config.arguments import unknown_key_hint

        return f"unknown config key '{key}'{unknown_key_hint(key, COMMAND[0], sys.argv[1:])}"
    interpolated = re.search(r"Interpolation key '([^']+)' not found", first_line)
    if interpolated and _full_key(error):
        return describe_missing_interpolation(_full_key(error), interpolated.group(1))
    key = _full_key(error)
    return f"{key}: {first_line}" if key else first_line


def describe_missing_interpolation(key: str, missing: str) -> str:
    """`model=gpt data=digits`: "model.block_size needs data.block_size, which data=digits does not set; ..."."""
    from hydra.core.hydra_config import HydraConfig

    group = missing.split(".")[0]
    choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
    chosen = f"{group}={choices[group]}" if group in choices else "this config"
    return (f"{key} needs {missing}, which {chosen} does not set: choose {group} that sets it, or set {key} "
            "yourself")


def recorded_overrides(resumed: Path) -> tuple[str, list[str], str]:
    """What a resumed dir is ('run' or 'sweep'), the overrides it was started with, and the file recording them."""
    from genlab.runs.run_info import read_run_info
    from genlab.runs.sweep_resume import MULTIRUN_FILE, is_sweep_dir, stored_arguments

    if (resumed / RUN_INFO_FILE).is_file():
        return "run", read_run_info(resumed).get("overrides") or [], RUN_INFO_FILE
    if is_sweep_dir(resumed):
        return "sweep", stored_arguments(resumed), MULTIRUN_FILE
    return "run", [], RUN_INFO_FILE


def describe_stale_override(error: BaseException, resumed: Path | None) -> str | None:
    """`resume=<run or sweep dir>` whose recorded overrides set a key the current config no longer has (renamed or
    removed in the code since the run started): say so, naming the override and where it is recorded."""
    from genlab.loggers.run_naming import override_key

    causes = [cause for cause in _causes(error) if isinstance(cause, OmegaConfBaseException)]
    keys = [key for key in map(unknown_key, causes) if key]
    if resumed is None or not keys or not resumed.is_dir():
        return None
    kind, recorded, record_file = recorded_overrides(resumed)
    override = next((override for override in recorded if override_key(override) == keys[0]), None)
    if override is None:
        return None
    return (f"resume={resumed}: the {kind}'s override {override} (in its {record_file}) sets config key {keys[0]}, "
            f"which the current config does not have (renamed or removed since the {kind} started); give the key's "
            "current name")


def describe_unwritable(error: OSError) -> str:
    """E.g. paths.output_dir below a regular file: "cannot create or write <path>: Not a directory; ..."."""
    if error.errno == errno.ENOSPC:
        return (f"no space left on the device to write {error.filename}; files written before (earlier checkpoints "
                "included) are intact: free space, or set paths.output_dir to a disk with room")
    return (f"cannot create or write {error.filename}: {error.strerror}; "
            "set paths.output_dir (or the path named) to a directory genlab can write")


def describe_state_dict_mismatch(error: RuntimeError) -> str | None:
    """torch's "Error(s) in loading state_dict for GPT: size mismatch for ..." (a resumed run whose config changed)."""
    match = re.match(r"Error\(s\) in loading state_dict for (\w+)", str(error))
    if match is None:
        return None
    return (f"the checkpoint does not fit the {match.group(1)} built from this config: {state_dict_mismatch(error)}; "
            "use the run's own model and data settings")


def one_line(error: BaseException) -> str | None:
    """The one-line message for a user error, or None for an unexpected error (keeps its traceback)."""
    for cause in _causes(error):
        if isinstance(cause, GenlabError):
            return str(cause).splitlines()[0]
    for cause in _causes(error):
        if isinstance(cause, OSError) and cause.errno in UNWRITABLE_ERRNOS and cause.filename:
            return describe_unwritable(cause)
        if isinstance(cause, RuntimeError) and (mismatch := describe_state_dict_mismatch(cause)):
            return mismatch
    for cause in _causes(error):
        if isinstance(cause, MissingConfigException):
            return describe_missing_option(cause)
    for cause in _causes(error):
        if isinstance(cause, OmegaConfBaseException):
            return describe_omegaconf(cause)
    if isinstance(error, HydraException):
        return " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return None


def report_and_exit(error: BaseException, message: str | None = None) -> None:
    """Print `genlab-<command>: error: <line>` (`message`, else one_line's) and exit 2 for user errors; re-raise
    anything else."""
    message = message or one_line(error)
    if message is None:
        raise error
    sys.stderr.write(f"genlab-{COMMAND[0]}: error: {redact(message)}\n")  # the same, as console script or -m
    sys.exit(USER_ERROR_EXIT_CODE)


def dir_named_by_resume(args: list[str]) -> Path | None:
    """The dir named by a `resume=<run or sweep dir>` argument."""
    for arg in args:
        match = re.fullmatch(r"\+{0,2}resume=(['\"]?)(.+)\1", arg)
        if match:
            return Path(match.group(2))
    return None


def run_dir_named_by_resume(args: list[str]) -> Path | None:
    """The run dir named by a `resume=<run_dir>` argument, when it holds a run."""
    resumed = dir_named_by_resume(args)
    return resumed if resumed is not None and (resumed / RUN_INFO_FILE).is_file() else None


@contextlib.contextmanager
def run_files_kept_if_rejected(run_dir: Path | None):
    """Hydra rewrites `<run>/.hydra/` and appends to the run's log before genlab sees the config: when a resume is
    rejected before the run starts (its run_info.json untouched), put the run's own files back."""
    saved = {} if run_dir is None else {
        path: path.read_bytes() for path in [run_dir / RUN_INFO_FILE, *(run_dir / ".hydra").glob("*.yaml")]}
    log_sizes = {} if run_dir is None else {path: path.stat().st_size for path in run_dir.glob("*.log")}
    try:
        yield
    finally:
        info = run_dir / RUN_INFO_FILE if run_dir else None
        if info and info.is_file() and info.read_bytes() == saved[info]:
            for path in set((run_dir / ".hydra").glob("*.yaml")) - set(saved):
                path.unlink()
            for path, data in saved.items():
                if not path.is_file() or path.read_bytes() != data:
                    path.write_bytes(data)
            for path, size in log_sizes.items():
                if path.is_file() and path.stat().st_size > size:
                    os.truncate(path, size)


def _run_and_report(func):
    """Hydra's whole run (composing included); a resumed run is held (see genlab.runs.run_lock) before Hydra writes
    into it, and its files are put back if the resume is refused."""
    resumed = run_dir_named_by_resume(sys.argv[1:])
    try:
        if resumed is not None:
            hold_run_dir(resumed)
        with run_files_kept_if_rejected(resumed):
            return func()
    except Exception as error:  # noqa: BLE001 - sorted into user errors vs. bugs below
        if hydra_utils._is_env_set("HYDRA_FULL_ERROR"):
            raise
        report_and_exit(error, describe_stale_override(error, dir_named_by_resume(sys.argv[1:])))
    finally:
        release_all()


def install(config_name: str) -> None:
    """Route Hydra's top-level error handling through genlab's one-line reporter."""
    COMMAND[0] = config_name
    hydra_utils.run_and_report = _run_and_report
