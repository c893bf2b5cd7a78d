"""Batch-size function for Lightning's ThroughputMonitor (samples/s)."""


def batch_size(batch) -> int:
    """Number of samples in a batch: the first dimension of its first tensor."""
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    return int(first.shape[0])
