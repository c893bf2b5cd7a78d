"""Datasets that fetch a whole batch in one indexing operation: the DataLoader calls `__getitems__(indices)` instead
of `__getitem__` once per item and then stacking (one gather instead of a Python loop per batch). A DataLoader over
one takes `collate_fn=whole_batch`."""
import torch
from torch.utils.data import TensorDataset


def whole_batch(batch):
    """The DataLoader's collate_fn for these datasets: `__getitems__` already returns the collated batch."""
    return batch


class BatchedTensors(TensorDataset):
    """A TensorDataset whose batches are one gather per tensor: (tensor[indices], ...) for the given indices."""

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, ...]:
        index = torch.as_tensor(indices, dtype=torch.long)
        return tuple(tensor[index] for tensor in self.tensors)
