"""Lightning's ThroughputMonitor for genlab: samples/s, and items/s = tokens/s for LMs, logged for training."""
from lightning.pytorch import Trainer
from lightning.pytorch.trainer.states import RunningStage

from genlab.compat.lightning import ThroughputMonitorHooks


def batch_size(batch) -> int:
    """Number of samples in a batch: the first dimension of its first tensor."""
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    return int(first.shape[0])


def batch_length(batch) -> int:
    """Items in a batch: tokens for (B, T) token batches, samples otherwise (so items/s = samples/s for images)."""
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    tokens = first.dim() == 2 and not first.is_floating_point()
    return int(first.numel()) if tokens else int(first.shape[0])


class TrainThroughputMonitor(ThroughputMonitorHooks):
    """Lightning's ThroughputMonitor without its validation rows, whose step restarts at 1 in every validation and so
    breaks the step order of metrics.csv (the validation time is still taken out of the training throughput)."""

    def logs_stage(self, trainer: Trainer) -> bool:
        return trainer.state.stage != RunningStage.VALIDATING
