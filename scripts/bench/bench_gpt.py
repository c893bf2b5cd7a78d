"""GPT training throughput: genlab-train's gpt_shakespeare_cpu fit vs a raw PyTorch loop, alternated in one process.

The genlab side is the real `genlab-train experiment=gpt_shakespeare_cpu` (Hydra config, builders, callbacks,
loggers, Trainer) run in this process; a callback (common.InterleavedSegments) pauses it every --steps batches to
run as many steps of a nanoGPT-style loop over a copy of the same initial GPT, on the same token memmap and the same
random windows (genlab's RandomWindowSampler order), with the same AdamW (groups, fused kernel), LR schedule and
norm clipping (the raw loop calls clip_grad_norm_ as nanoGPT does; genlab folds the clip into the fused step, equal up
to rounding). Both sides therefore see identical batches and should end at the same loss, and the ratio is the
framework's cost or gain alone. Validation and other epoch-end work are paused out.

Usage: python scripts/bench/bench_gpt.py [--steps 50] [--rounds 10] [--warmup 10] [--output-dir DIR] [OVERRIDE ...]
       (GENLAB_DATA_DIR must hold tinyshakespeare/input.txt, or pass paths.data_dir=...)
"""
import copy
import sys

import common
import numpy as np
import torch
import torch.nn.functional as F

from genlab.data.epoch_samplers import RandomWindowSampler
from genlab.models.optimizers import adamw
from genlab.models.lr_schedules import warmup_cosine

TARGET = 0.97


class RawGPTLoop:
    """The loop a user would write by hand around genlab's GPT network, fed genlab's batches in genlab's order."""

    def __init__(self, trainer, pl_module):
        datamodule = trainer.datamodule
        windows = datamodule.datasets["train"]
        self.tokens, self.offsets = windows.tokens, np.arange(windows.block_size + 1)  # the token memmap
        sampler = RandomWindowSampler(len(windows), datamodule.train_batches_per_epoch * datamodule.batch_size,
                                      datamodule.seed)
        self.batches = common.sampler_batches(sampler, datamodule.batch_size)
        self.items_per_step = datamodule.batch_size * windows.block_size
        self.network = copy.deepcopy(pl_module.network).train()
        self.optimizer = adamw(self.network, pl_module.lr, pl_module.betas, pl_module.weight_decay)  # genlab's (fused)
        decay_steps = pl_module.lr_decay_steps or int(trainer.estimated_stepping_batches)
        factor = warmup_cosine(pl_module.warmup_steps, decay_steps, pl_module.min_lr / pl_module.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)
        self.parameters = [p for group in self.optimizer.param_groups for p in group["params"]]  # Lightning's order
        self.clip = trainer.gradient_clip_val

    def run(self, steps: int) -> list[dict]:
        losses = []
        for _ in range(steps):
            starts = next(self.batches).numpy()
            windows = torch.from_numpy(self.tokens[starts[:, None] + self.offsets].astype(np.int64))  # (B, T + 1)
            inputs, targets = windows[:, :-1], windows[:, 1:]
            loss = F.cross_entropy(self.network(inputs).flatten(0, 1), targets.flatten())
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.clip:
                torch.nn.utils.clip_grad_norm_(self.parameters, self.clip)
            self.optimizer.step()
            self.scheduler.step()
            losses.append({"loss": loss.detach()})
        return losses

    @staticmethod
    def genlab_losses(outputs) -> dict:
        return {"loss": outputs["loss"].detach()}


if __name__ == "__main__":
    sys.exit(common.segment_benchmark(__doc__, ["experiment=gpt_shakespeare_cpu"], "__main__.RawGPTLoop", "tokens",
                                      TARGET))
