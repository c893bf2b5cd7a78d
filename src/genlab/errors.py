"""User-facing errors and their one-line text: genlab's entry points print these as one line and exit non-zero."""
import errno
import re


class GenlabError(Exception):
    """Base of every error caused by user input (config, data, checkpoints)."""


class ConfigError(GenlabError, ValueError):
    """A config key holds a value genlab cannot use."""


class DataError(GenlabError):
    """A dataset file or directory is missing, unreadable or corrupt."""


class CheckpointError(GenlabError):
    """A checkpoint is missing, unsafe or does not fit the requested use."""


class RunInfoError(GenlabError, ValueError):
    """A run's run_info.json is corrupt; the message names the file."""


class DivergenceError(GenlabError):
    """Training produced a non-finite loss."""


class SweepFailed(GenlabError):
    """Some jobs of a multirun failed (the others ran; multirun_summary.csv has each one's error)."""


def state_dict_mismatch(error: Exception) -> str:
    """torch's load_state_dict error ("Error(s) in loading state_dict for X:", then a line per problem) as one line."""
    details = [line.strip().rstrip(".") for line in str(error).splitlines()[1:] if line.strip()]
    shown = "; ".join(details[:2]) + (f"; and {len(details) - 2} more" if len(details) > 2 else "")
    return shown or "parameters differ"


def unreadable(path, error: Exception, kind: str) -> str:
    """One line naming `path` and why it is not readable `kind` (JSON, YAML, CSV) text: a file of someone else's."""
    if isinstance(error, UnicodeDecodeError):
        return f"{path} is not UTF-8 text ({error.reason} at byte {error.start})"
    if isinstance(error, OSError):
        return f"{path} cannot be read ({error.strerror or error})"
    first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"{path} is not valid {kind} ({first_line})"


# A path genlab must create or write is below a file, read-only, or the disk is full: the user's setup, not a bug.
UNWRITABLE_ERRNOS = (errno.ENOTDIR, errno.EEXIST, errno.EISDIR, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC)


def causes(error: BaseException):
    """The error and every error it was raised from, outermost first."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _full_key(error: BaseException) -> str | None:
    match = re.search(r"full_key: (\S+)", str(error))
    return match.group(1) if match else None


def describe_missing_option(error) -> str:
    """`model=nope` → "unknown model option 'nope'; valid options: dcgan, ..."."""
    match = re.search(r"Could not find '([^']+)'", str(error))
    group, _, option = (match.group(1) if match else str(error)).rpartition("/")
    if error.options:
        return f"unknown {group} option '{option}'; valid options: {', '.join(sorted(error.options))}"
    return f"config '{match.group(1) if match else error}' not found"


def unknown_key(error) -> str | None:
    """The full key an OmegaConf struct error names ("Key 'z_dim' is not in struct", full_key: model.z_dim)."""
    struct = re.search(r"Key '([^']+)' (?:is )?not in (?:struct|'\w+')", str(error).splitlines()[0])
    return (_full_key(error) or struct.group(1)) if struct else None


def describe_omegaconf(error, hint=None) -> str:
    """An OmegaConf error as "<key>: <first line>", with struct errors said plainly; `hint(key)` is appended to an
    unknown key's line (the CLI's advice on adding or spelling it)."""
    first_line = str(error).splitlines()[0]
    missing = re.search(r"Missing mandatory value: (\S+)", first_line)
    if missing:
        return f"{missing.group(1)} is required: add {missing.group(1)}=..."
    key = unknown_key(error)
    if key:
        return f"unknown config key '{key}'{hint(key) if hint else ''}"
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


def one_line(error: BaseException, hint=None) -> str | None:
    """The one-line message for a user error, or None for an unexpected error (keeps its traceback); `hint` as for
    describe_omegaconf."""
    from hydra.errors import HydraException, MissingConfigException  # not at import: networks use this module too
    from omegaconf.errors import OmegaConfBaseException

    for cause in causes(error):
        if isinstance(cause, GenlabError):
            return str(cause).splitlines()[0]
    for cause in causes(error):
        if isinstance(cause, OSError) and cause.errno in UNWRITABLE_ERRNOS and cause.filename:
            return describe_unwritable(cause)
        if isinstance(cause, RuntimeError) and (mismatch := describe_state_dict_mismatch(cause)):
            return mismatch
    for cause in causes(error):
        if isinstance(cause, MissingConfigException):
            return describe_missing_option(cause)
    for cause in causes(error):
        if isinstance(cause, OmegaConfBaseException):
            return describe_omegaconf(cause, hint)
    if isinstance(error, HydraException):
        return " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return None
