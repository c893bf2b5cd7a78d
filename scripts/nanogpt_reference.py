"""gpt_shakespeare_cpu's recipe trained in nanoGPT's own loop: nanoGPT's reported val loss beside genlab's val/loss.

nanoGPT's train.py (config/train_shakespeare_char.py at its README's CPU settings) seeds torch's global RNG (1337),
builds the GPT from it, draws every batch from it with torch.randint (its eval batches too, which shifts the
training stream), and every 250 iterations reports the mean loss of 20 random batches. This script runs that loop
around genlab's GPT network (nanoGPT's modules, built in nanoGPT's order: the same initial weights for a seed), with
nanoGPT's optimizer (every matrix decayed, embeddings included; PyTorch's default AdamW on CPU) and the recipe's
settings composed from genlab's config tree. At each eval it prints nanoGPT's estimate and genlab's val/loss: the
mean over every non-overlapping window of the val split, as genlab's validation computes it.

Usage: python scripts/nanogpt_reference.py [--seeds 1337 1338 1339] [--eval-interval 250] [--eval-batches 20]
                                           [--data-dir ../shared/data] [OVERRIDE ...]
"""
import argparse
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from hydra.utils import instantiate

from genlab.config.compose import compose_run
from genlab.data.text import TokenWindows
from genlab.models.build import instantiate_model
from genlab.models.lr_schedules import warmup_cosine
from val_estimate_noise import window_losses  # scripts/ is on sys.path when this script runs


class NanoGPTLoop:
    """One seed of nanoGPT's training loop over a composed genlab GPT experiment."""

    def __init__(self, cfg, datamodule, seed: int, eval_interval: int = 250, eval_batches: int = 20):
        self.batch_size, self.block_size = datamodule.batch_size, datamodule.block_size
        # a window at every start of each split (genlab's validation keeps only the non-overlapping ones)
        self.windows = {split: TokenWindows(datamodule.datasets[split].tokens, self.block_size)
                        for split in ("train", "val")}
        self.steps, self.clip = cfg.trainer.max_steps, cfg.trainer.gradient_clip_val
        self.eval_interval, self.eval_batches = eval_interval, eval_batches
        module = instantiate_model(cfg.model)
        torch.manual_seed(seed)  # nanoGPT: torch.manual_seed(1337 + seed_offset), then the model, then the batches
        self.network = module.build_network(datamodule.vocab_size).train()
        parameters = list(self.network.parameters())
        groups = [{"params": [p for p in parameters if p.dim() >= 2], "weight_decay": module.weight_decay},
                  {"params": [p for p in parameters if p.dim() < 2], "weight_decay": 0.0}]
        self.optimizer = torch.optim.AdamW(groups, lr=module.lr, betas=tuple(module.betas))
        decay_steps = module.lr_decay_steps or self.steps
        self.lr_factor = warmup_cosine(module.warmup_steps, decay_steps, module.min_lr / module.lr)
        self.peak_lr = module.lr

    def batch(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """nanoGPT's get_batch: batch_size windows at torch.randint starts from the global RNG."""
        windows = self.windows[split]
        return windows.__getitems__(torch.randint(len(windows), (self.batch_size,)).tolist())

    def loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.network(inputs).flatten(0, 1), targets.flatten())

    @torch.no_grad()
    def estimate(self) -> dict[str, float]:
        """nanoGPT's estimate_loss: the mean loss of eval_batches random batches per split."""
        self.network.eval()
        out = {split: statistics.fmean(self.loss(*self.batch(split)).item() for _ in range(self.eval_batches))
               for split in ("train", "val")}
        self.network.train()
        return out

    def whole_val_split(self) -> float:
        """genlab's val/loss: mean next-token loss over every non-overlapping block_size window of the val split."""
        self.network.eval()
        tokens, block = self.windows["val"].tokens, self.block_size
        loss = window_losses(self.network, tokens, np.arange((len(tokens) - 1) // block) * block, block).mean()
        self.network.train()
        return float(loss)

    def run(self) -> tuple[dict, list[float]]:
        """Train for max_steps; nanoGPT's evals print as they happen. Returns the last eval and the step times."""
        inputs, targets = self.batch("train")
        step_seconds, last = [], {}
        for step in range(self.steps + 1):  # nanoGPT evaluates at iter max_iters too (and then takes a step nobody sees)
            for group in self.optimizer.param_groups:
                group["lr"] = self.peak_lr * self.lr_factor(step)
            if step % self.eval_interval == 0:
                last = self.estimate() | {"whole": self.whole_val_split(), "step": step}
                print(f"  step {step}: nanoGPT train {last['train']:.4f}, val {last['val']:.4f}; "
                      f"genlab val/loss (whole split) {last['whole']:.4f}", flush=True)
            if step == self.steps:
                break
            started = time.perf_counter()
            loss = self.loss(inputs, targets)
            inputs, targets = self.batch("train")  # nanoGPT fetches the next batch before backward
            loss.backward()
            if self.clip:
                torch.nn.utils.clip_grad_norm_(self.network.parameters(), self.clip)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            step_seconds.append(time.perf_counter() - started)
        return last, step_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1337, 1338, 1339])
    parser.add_argument("--eval-interval", type=int, default=250, help="nanoGPT's eval_interval (250)")
    parser.add_argument("--eval-batches", type=int, default=20, help="nanoGPT's eval_iters (its CPU run: 20)")
    parser.add_argument("--data-dir", default=os.environ.get("GENLAB_DATA_DIR", "../shared/data"))
    parser.add_argument("--cache-dir", default=os.environ.get("GENLAB_CACHE_DIR", "outputs/.cache"))
    parser.add_argument("overrides", nargs="*", help="Hydra overrides (default experiment=gpt_shakespeare_cpu)")
    args = parser.parse_args()
    cfg = compose_run(["experiment=gpt_shakespeare_cpu", f"paths.data_dir={os.path.abspath(args.data_dir)}",
                       f"paths.cache_dir={os.path.abspath(args.cache_dir)}", *args.overrides])
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    results = []
    for seed in args.seeds:
        print(f"seed {seed}:")
        last, step_seconds = NanoGPTLoop(cfg, datamodule, seed, args.eval_interval, args.eval_batches).run()
        results.append(last)
        print(f"  median {1000 * statistics.median(step_seconds):.1f} ms/step")
    print(f"step {results[0]['step']}, seeds {', '.join(map(str, args.seeds))}: nanoGPT's {args.eval_batches}-batch "
          "val estimate "
          + ", ".join(f"{r['val']:.4f}" for r in results) + f" (mean {statistics.fmean(r['val'] for r in results):.4f});"
          " genlab val/loss of the same models " + ", ".join(f"{r['whole']:.4f}" for r in results)
          + f" (mean {statistics.fmean(r['whole'] for r in results):.4f})")


if __name__ == "__main__":
    main()
