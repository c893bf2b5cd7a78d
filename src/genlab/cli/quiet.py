"""Console noise genlab's commands leave out: warnings about what genlab already handles, and Lightning's ads."""
import logging
import os
import warnings

QUIET_WARNINGS = (
    r".*isinstance\(treespec, LeafSpec\)",  # Lightning 2.6 internals vs torch 2.13
    r".*flops_per_batch",  # ThroughputMonitor: genlab logs samples/s, not FLOPs
    r".*will save all extracted features in buffer",  # torchmetrics KID/IS: metrics.num_samples bounds the buffer
    r"Precision .* is not supported by the model summary",  # its size column is an estimate either way
    r"You're resuming from a checkpoint that ended before the epoch ended",  # genlab's samplers resume mid-epoch
)
# Lightning warns that srun is installed but not used: true of every run outside a SLURM job on a SLURM machine
OUTSIDE_SLURM_WARNINGS = (r"The `srun` command is available on your system but is not used",)
QUIET_LOG_PREFIXES = (
    "💡 Tip:",  # Lightning's suggestions to install its cloud loggers
    "Trainer already configured with model summary callbacks",  # genlab's own summary (callbacks.model_summary)
)
LIGHTNING_INFO_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")


class DropAds(logging.Filter):
    """Drops log records that start with one of QUIET_LOG_PREFIXES."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(QUIET_LOG_PREFIXES)


def quiet_console() -> None:
    """Install the warning filters and the log filter for this process."""
    patterns = QUIET_WARNINGS + (OUTSIDE_SLURM_WARNINGS if "SLURM_JOB_ID" not in os.environ else ())
    for pattern in patterns:
        warnings.filterwarnings("ignore", message=pattern)
    for name in LIGHTNING_INFO_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, DropAds) for existing in logger.filters):
            logger.addFilter(DropAds())
