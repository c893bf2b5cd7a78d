"""How far nanoGPT's val-loss estimate strays from the whole validation split, for trained genlab language models.

nanoGPT reports the mean loss of `--batches` random batches of `--batch-size` windows (its CPU recipe: 20 x 12
windows of block_size tokens); genlab's `val/loss` is the mean over the whole val split. For each checkpoint this
prints genlab's full-split loss, the exact mean over every window start (what nanoGPT's estimate averages to), and
the spread of nanoGPT's estimate over `--draws` random draws: mean, std, 5-95% range, and how often it comes out at or
below `--reference` (the 1.8857 nanoGPT reported for gpt_shakespeare_cpu's recipe).

Usage: python scripts/val_estimate_noise.py CKPT [CKPT ...] [--text ../shared/data/tinyshakespeare/input.txt]
"""
import argparse
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

import genlab
from genlab.data.text import TextDataModule


def window_losses(network: torch.nn.Module, tokens: np.ndarray, starts: np.ndarray, block: int) -> np.ndarray:
    """Mean next-token loss of the window at each start (block inputs, their block targets)."""
    offsets, losses = np.arange(block + 1), []
    with torch.no_grad():
        for chunk in np.array_split(starts, max(1, len(starts) // 256)):
            windows = torch.from_numpy(tokens[chunk[:, None] + offsets].astype(np.int64))
            logits = network(windows[:, :-1])
            nats = F.cross_entropy(logits.flatten(0, 1), windows[:, 1:].flatten(), reduction="none")
            losses.append(nats.view(len(chunk), block).mean(1))
    return torch.cat(losses).numpy()


def val_tokens(module, text: str, cache_dir: str) -> tuple[np.ndarray, int]:
    """The val split's tokens as the checkpoint's run split and tokenized them, and its block size."""
    data = module.genlab_config["data"]
    datamodule = TextDataModule(text, tokenizer=data["tokenizer"], vocab_size=data["vocab_size"],
                                block_size=data["block_size"], val_fraction=data["val_fraction"],
                                test_fraction=data["test_fraction"], cache_dir=cache_dir)
    datamodule.setup()
    if datamodule.tokenizer.describe() != module.text_tokenizer().describe():
        raise SystemExit(f"{text} does not give the tokenizer the checkpoint was trained with")
    return datamodule.datasets["val"].tokens, datamodule.block_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--text", default="../shared/data/tinyshakespeare/input.txt")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=12)
    parser.add_argument("--draws", type=int, default=10000)
    parser.add_argument("--reference", type=float, default=1.8857)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as cache_dir:
        for path in args.checkpoints:
            module = genlab.load(path).eval()
            tokens, block = val_tokens(module, args.text, cache_dir)
            every_start = window_losses(module.network, tokens, np.arange(len(tokens) - block), block)
            split = every_start[np.arange((len(tokens) - 1) // block) * block]  # genlab's non-overlapping windows
            draws = every_start[rng.integers(0, len(every_start), (args.draws, args.batches * args.batch_size))]
            estimates = draws.mean(axis=1)
            low, high = np.quantile(estimates, [0.05, 0.95])
            print(f"{path}\n  genlab val/loss (whole split) {split.mean():.4f}; mean over every window start "
                  f"{every_start.mean():.4f}\n  nanoGPT estimate ({args.batches} x {args.batch_size} windows, "
                  f"{args.draws} draws): mean {estimates.mean():.4f}, std {estimates.std():.4f}, 5-95% "
                  f"[{low:.4f}, {high:.4f}], P(<= {args.reference}) = {np.mean(estimates <= args.reference):.3f}")


if __name__ == "__main__":
    main()
