"""Training-step time of the Shakespeare LMs, measured side by side (interleaved rounds, same process).

Prints ms per step for gpt_shakespeare_cpu and the lstm/gru/rnn_shakespeare networks, their ratio to the GPT,
and how many steps each gets in the GPT's 2000-step budget (the equal-wall-clock comparison of the README).

Usage: python scripts/bench/bench_lm_step_time.py [--steps 30] [--rounds 3]
"""
import argparse
import sys
import time

import common
import torch
import torch.nn.functional as F

from genlab.models.optimizers import adamw
from genlab.networks.gpt import GPT
from genlab.networks.rnn_lm import RNNLM

VOCAB, BLOCK, BATCH = 65, 64, 12  # tiny Shakespeare characters, gpt_shakespeare_cpu's block and batch
NETWORKS = {
    "gpt_shakespeare_cpu": lambda: GPT(VOCAB, BLOCK, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=False),
    "lstm_shakespeare": lambda: RNNLM(VOCAB, "lstm", num_layers=2, hidden_size=256),
    "gru_shakespeare": lambda: RNNLM(VOCAB, "gru", num_layers=2, hidden_size=256),
    "rnn_shakespeare": lambda: RNNLM(VOCAB, "rnn", num_layers=2, hidden_size=256),
}


def step_seconds(network: torch.nn.Module, steps: int) -> float:
    """Median seconds of one AdamW training step (forward, backward, clip, update) on random token batches."""
    optimizer = adamw(network, 1e-3, (0.9, 0.99), 0.1)  # genlab's: fused on CPU
    times = []
    for _ in range(steps + 3):  # 3 warmup steps
        tokens = torch.randint(VOCAB, (BATCH, BLOCK + 1))
        start = time.perf_counter()
        output = network(tokens[:, :-1])
        logits = output[0] if isinstance(output, tuple) else output
        F.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten()).backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - start)
    return common.median(times[3:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    common.print_environment()
    torch.manual_seed(0)
    networks = {name: build() for name, build in NETWORKS.items()}
    samples = common.interleaved_rounds(
        {name: lambda network=network: step_seconds(network, args.steps) for name, network in networks.items()},
        args.rounds)
    seconds = {name: common.median(values) for name, values in samples.items()}
    gpt = seconds["gpt_shakespeare_cpu"]
    common.print_table(
        ["experiment", "ms/step", "÷ gpt", "steps in 2000 gpt steps"],
        [[name, f"{1000 * value:.1f}", f"{value / gpt:.2f}", round(2000 * gpt / value)] for name, value in seconds.items()],
    )
    print("ratio ms/step ÷ gpt: " + ", ".join(f"{name} {value / gpt:.2f}" for name, value in seconds.items()
                                              if name != "gpt_shakespeare_cpu"))


if __name__ == "__main__":
    sys.exit(main())
