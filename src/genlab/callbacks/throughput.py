"""Batch-size and length functions for Lightning's ThroughputMonitor (samples/s, and items/s = tokens/s for LMs)."""


def batch_size(batch) -> int:
    """Number of samples in a batch: the first dimension of its first tensor."""
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    return int(first.shape[0])


def batch_length(batch) -> int:
    """Items in a batch: tokens for (B, T) token batches, samples otherwise (so items/s = samples/s for images)."""
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    tokens = first.dim() == 2 and not first.is_floating_point()
    return int(first.numel()) if tokens else int(first.shape[0])
