"""User-facing errors: genlab's entry points print these as one line and exit non-zero."""


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
