"""User-facing errors: genlab's entry points print these as one line and exit non-zero."""


class GenlabError(Exception):
    """Base of every error caused by user input (config, data, checkpoints)."""


class ConfigError(GenlabError, ValueError):
    """A config key holds a value genlab cannot use."""


class DataError(GenlabError):
    """A dataset file or directory is missing, unreadable or corrupt."""


class CheckpointError(GenlabError):
    """A checkpoint is missing, unsafe or does not fit the requested use."""


class DivergenceError(GenlabError):
    """Training produced a non-finite loss."""


class SweepFailed(GenlabError):
    """Some jobs of a multirun failed (the others ran; multirun_summary.csv has each one's error)."""
