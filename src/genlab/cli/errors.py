"""One-line reports for bad input: replaces Hydra's multi-screen error printing for user errors only."""
import os
import re
import sys

import hydra._internal.utils as hydra_utils
from hydra.errors import HydraException, MissingConfigException
from omegaconf.errors import OmegaConfBaseException

from genlab.errors import GenlabError

USER_ERROR_EXIT_CODE = 2


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


def describe_omegaconf(error: OmegaConfBaseException) -> str:
    """An OmegaConf error as "<key>: <first line>", with struct errors said plainly."""
    first_line = str(error).splitlines()[0]
    missing = re.search(r"Missing mandatory value: (\S+)", first_line)
    if missing:
        return f"{missing.group(1)} is required: add {missing.group(1)}=..."
    key = _full_key(error)
    struct = re.search(r"Key '([^']+)' (?:is )?not in (?:struct|'\w+')", first_line)
    if struct:
        return f"unknown config key '{key or struct.group(1)}' (check its spelling, or add it with +{key or struct.group(1)}=...)"
    return f"{key}: {first_line}" if key else first_line


def one_line(error: BaseException) -> str | None:
    """The one-line message for a user error, or None for an unexpected error (keeps its traceback)."""
    for cause in _causes(error):
        if isinstance(cause, GenlabError):
            return str(cause).splitlines()[0]
    for cause in _causes(error):
        if isinstance(cause, MissingConfigException):
            return describe_missing_option(cause)
    for cause in _causes(error):
        if isinstance(cause, OmegaConfBaseException):
            return describe_omegaconf(cause)
    if isinstance(error, HydraException):
        return " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return None


def report_and_exit(error: BaseException) -> None:
    """Print `<prog>: error: <line>` and exit 2 for user errors; re-raise anything else."""
    message = one_line(error)
    if message is None:
        raise error
    prog = os.path.basename(sys.argv[0]) or "genlab"
    sys.stderr.write(f"{prog}: error: {message}\n")
    sys.exit(USER_ERROR_EXIT_CODE)


def _run_and_report(func):
    try:
        return func()
    except Exception as error:  # noqa: BLE001 - sorted into user errors vs. bugs below
        if hydra_utils._is_env_set("HYDRA_FULL_ERROR"):
            raise
        report_and_exit(error)


def install() -> None:
    """Route Hydra's top-level error handling through genlab's one-line reporter."""
    hydra_utils.run_and_report = _run_and_report
