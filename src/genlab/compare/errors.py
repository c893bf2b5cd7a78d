"""genlab-compare's errors: bad input is one line with exit code 2; an unreadable run is skipped with a warning."""
from pathlib import Path

from genlab.errors import GenlabError, unreadable


class CompareInputError(GenlabError):
    """A PATH, metric, mode or key given to genlab-compare that it cannot use; the message names it."""


class UnreadableRunError(CompareInputError):
    """A file in one run dir is binary, corrupt or of the wrong shape; the message names the file and why."""


def unreadable_file(path: Path, error: Exception, kind: str) -> UnreadableRunError:
    """The one-line error naming `path` and why it is not readable `kind` (JSON, YAML, CSV) text."""
    return UnreadableRunError(unreadable(path, error, kind))
