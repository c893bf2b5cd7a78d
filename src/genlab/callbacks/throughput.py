"""Lightning's ThroughputMonitor for genlab: samples/s, and items/s = tokens/s for LMs, logged for training."""
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ThroughputMonitor
from lightning.pytorch.trainer.states import RunningStage


def batch_size(batch) -> int:
    """Number of samples in a batch: the first dimension of its first tensor."""
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    return int(first.shape[0])


def batch_length(batch) -> int:
    """Items in a batch: tokens for (B, T) token batches, samples otherwise (so items/s = samples/s for images)."""
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    tokens = first.dim() == 2 and not first.is_floating_point()
    return int(first.numel()) if tokens else int(first.shape[0])


class TrainThroughputMonitor(ThroughputMonitor):
    """Lightning's ThroughputMonitor without its validation rows, whose step restarts at 1 in every validation and so
    breaks the step order of metrics.csv (the validation time is still taken out of the training throughput)."""

    def _compute(self, trainer: Trainer, iter_num: int | None = None) -> None:
        if trainer.state.stage != RunningStage.VALIDATING:
            super()._compute(trainer, iter_num)
