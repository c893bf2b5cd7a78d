"""The one error genlab-compare reports as a single line with exit code 2."""
from genlab.errors import GenlabError


class CompareInputError(GenlabError):
    """A PATH, metric, mode or key given to genlab-compare that it cannot use; the message names it."""
