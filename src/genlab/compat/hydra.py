"""Hooks into private names of Hydra (see genlab.compat). Light: the commands import it before torch."""
import hydra._internal.utils as hydra_utils
from hydra.core.utils import JobReturn

from genlab.compat.names import absent


def locate(target: str):
    """The class or function a `_target_` names, found exactly as `instantiate` finds it (Hydra's `_locate`):
    stored configs are checked against what would be built. The public `hydra.utils.get_object` logs an ERROR line
    for every name it cannot find, which genlab reports itself in one line."""
    return hydra_utils._locate(target)


def route_hydra_errors(run_and_report) -> None:
    """Make `run_and_report(func)` run every Hydra app of this process (Hydra's own `run_and_report` prints a
    multi-line traceback or its own error text): genlab's commands report user errors in one line and exit 2."""
    hydra_utils.run_and_report = run_and_report


def job_result(job_return: JobReturn):
    """What a Hydra job returned or raised: the `return_value` property re-raises a failed job's exception, and
    the multirun summary wants the exception itself (for its one-line error)."""
    return job_return._return_value


def missing_private_names() -> list[str]:
    """Which of this module's private names the installed Hydra lacks."""
    return absent([(hydra_utils, ["_locate", "run_and_report"]), (JobReturn, ["_return_value"])])
