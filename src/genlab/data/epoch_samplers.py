"""Training samplers with one fixed order per (seed, epoch) that can start an epoch part-way: exact mid-epoch resume.

A datamodule mixing in `ResumableTrainOrder` records, in every checkpoint, how many batches of which epoch were
trained; on resume its train sampler skips exactly those, so the run sees the batches an uninterrupted run would.
"""

import numpy as np
import torch
from torch.utils.data import Sampler

from genlab.compat.lightning import train_batches_this_epoch


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A generator seeded by (seed, epoch), independent of torch's global RNG."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0]))


class EpochSampler(Sampler[int]):
    """Yields `order()` for the current epoch; `start_at(epoch, count)` makes that epoch's next pass skip `count` draws."""

    def __init__(self, num_samples: int, seed: int) -> None:
        self.num_samples, self.seed, self.epoch = num_samples, seed, 0
        self._start: tuple[int, int] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Lightning calls this before each epoch (through its DistributedSamplerWrapper under DDP)."""
        self.epoch = epoch

    def start_at(self, epoch: int, count: int) -> None:
        """The next pass over `epoch` begins after its first `count` draws (a resumed, part-trained epoch)."""
        self._start = (epoch, count)

    def __len__(self) -> int:
        return self.num_samples  # the full epoch: Lightning counts the resumed batches from the checkpoint

    def order(self, generator: torch.Generator) -> torch.Tensor:
        """All num_samples draws of one epoch."""
        raise NotImplementedError

    def __iter__(self):
        skip = self._start[1] if self._start is not None and self._start[0] == self.epoch else 0
        self._start = None
        yield from self.order(epoch_generator(self.seed, self.epoch))[skip:].tolist()


class ShuffleSampler(EpochSampler):
    """A permutation of all num_samples items each epoch."""

    def order(self, generator: torch.Generator) -> torch.Tensor:
        return torch.randperm(self.num_samples, generator=generator)


class RandomWindowSampler(EpochSampler):
    """num_samples random window starts in [0, num_starts), drawn with replacement."""

    def __init__(self, num_starts: int, num_samples: int, seed: int) -> None:
        super().__init__(num_samples, seed)
        self.num_starts = num_starts

    def order(self, generator: torch.Generator) -> torch.Tensor:
        return torch.randint(self.num_starts, (self.num_samples,), generator=generator)


class ResumableTrainOrder:
    """Mixin for a LightningDataModule whose train loader uses an EpochSampler: checkpoints record the train position."""

    _resume_position: dict | None = None

    def state_dict(self) -> dict:
        """The epoch and the batches of it already trained (all ranks together), saved in every checkpoint while fitting."""
        trainer = getattr(self, "trainer", None)
        if trainer is None or trainer.state.fn != "fit":
            return {}
        done = train_batches_this_epoch(trainer)
        return {"epoch": trainer.current_epoch, "batches": done, "world_size": trainer.world_size}

    def load_state_dict(self, state: dict) -> None:
        """Lightning restores this before building the train loader on resume."""
        self._resume_position = dict(state) or None

    def resume_sampler(self, sampler: EpochSampler, batch_size: int) -> EpochSampler:
        """Make the sampler skip what the checkpointed run already trained of its epoch (once)."""
        if position := self._resume_position:
            sampler.start_at(position["epoch"], position["batches"] * batch_size * position["world_size"])
            self._resume_position = None
        return sampler


def loader_generator(seed: int) -> torch.Generator:
    """A DataLoader's own generator: without one, every `iter()` draws a worker seed from torch's global RNG, which
    an uninterrupted run does between an epoch-end checkpoint and the next batch and a run resumed from it does not."""
    return torch.Generator().manual_seed(seed)
