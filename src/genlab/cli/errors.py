"""One-line reports for bad input: replaces Hydra's multi-screen error printing for user errors only."""
import contextlib
import os
import sys
from pathlib import Path

from omegaconf.errors import OmegaConfBaseException

from genlab.compat.hydra import route_hydra_errors
from genlab.config.arguments import unknown_key_hint
from genlab.config.overrides import dir_named_by_resume, override_key
from genlab.errors import causes, one_line as error_line, unknown_key
from genlab.runs.run_info import RUN_INFO_FILE, read_run_info
from genlab.runs.run_lock import hold_run_dir, release_all
from genlab.runs.secrets import redact
from genlab.runs.sweep_resume import MULTIRUN_FILE, is_sweep_dir, stored_arguments

USER_ERROR_EXIT_CODE = 2
COMMAND = ["train"]  # the running app's config name (train, eval, sample), set by install()


def recorded_overrides(resumed: Path) -> tuple[str, list[str], str]:
    """What a resumed dir is ('run' or 'sweep'), the overrides it was started with, and the file recording them."""
    if (resumed / RUN_INFO_FILE).is_file():
        return "run", read_run_info(resumed).get("overrides") or [], RUN_INFO_FILE
    if is_sweep_dir(resumed):
        return "sweep", stored_arguments(resumed), MULTIRUN_FILE
    return "run", [], RUN_INFO_FILE


def describe_stale_override(error: BaseException, resumed: Path | None) -> str | None:
    """`resume=<run or sweep dir>` whose recorded overrides set a key the current config no longer has (renamed or
    removed in the code since the run started): say so, naming the override and where it is recorded."""
    config_errors = [cause for cause in causes(error) if isinstance(cause, OmegaConfBaseException)]
    keys = [key for key in map(unknown_key, config_errors) if key]
    if resumed is None or not keys or not resumed.is_dir():
        return None
    kind, recorded, record_file = recorded_overrides(resumed)
    override = next((override for override in recorded if override_key(override) == keys[0]), None)
    if override is None:
        return None
    return (f"resume={resumed}: the {kind}'s override {override} (in its {record_file}) sets config key {keys[0]}, "
            f"which the current config does not have (renamed or removed since the {kind} started); give the key's "
            "current name")


def one_line(error: BaseException) -> str | None:
    """The one-line message for a user error (unknown keys with the CLI's advice), or None for an unexpected one."""
    return error_line(error, hint=lambda key: unknown_key_hint(key, COMMAND[0], sys.argv[1:]))


def report_and_exit(error: BaseException, message: str | None = None) -> None:
    """Print `genlab-<command>: error: <line>` (`message`, else one_line's) and exit 2 for user errors; re-raise
    anything else."""
    message = message or one_line(error)
    if message is None:
        raise error
    sys.stderr.write(f"genlab-{COMMAND[0]}: error: {redact(message)}\n")  # the same, as console script or -m
    sys.exit(USER_ERROR_EXIT_CODE)


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
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        report_and_exit(error, describe_stale_override(error, dir_named_by_resume(sys.argv[1:])))
    finally:
        release_all()


def install(config_name: str) -> None:
    """Route Hydra's top-level error handling through genlab's one-line reporter."""
    COMMAND[0] = config_name
    route_hydra_errors(_run_and_report)
