"""Noise floor of bench_gpt.py's ratio: its raw loop against a second copy of itself, alternated the same way.

Both sides run bench_gpt's RawGPTLoop (the same GPT, data, AdamW, schedule and clipping) in segments of --steps,
first side then second side, --rounds times, and the ratio is computed as bench_gpt computes genlab/raw (median of
the per-round first/second tokens/s ratios). Any distance from 1.000 is the measurement's own: the machine, the
order within a round, where each copy's tensors landed in memory. Run it beside bench_gpt.py to read its ratio.

Usage: python scripts/bench/bench_noise_floor.py [--steps 20] [--rounds 24] [--runs 3] [--data-dir DIR]
"""
import argparse
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import common
from bench_gpt import RawGPTLoop
from hydra.utils import instantiate

from genlab.config.compose import compose_run
from genlab.models.build import instantiate_model


def cpu_recipe_loops(data_dir: Path, cache_dir: Path) -> tuple[RawGPTLoop, RawGPTLoop]:
    """Two raw loops over copies of one GPT of the gpt_shakespeare_cpu experiment (its data, model and trainer
    settings composed from genlab's config tree), as bench_gpt builds its raw side."""
    cfg = compose_run(["experiment=gpt_shakespeare_cpu", f"paths.data_dir={data_dir.resolve()}",
                       f"paths.cache_dir={cache_dir.resolve()}"])
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    cfg.model.vocab_size = datamodule.vocab_size  # what the trainer's configure_model would take from the data
    model = instantiate_model(cfg.model)
    trainer = SimpleNamespace(datamodule=datamodule, gradient_clip_val=cfg.trainer.gradient_clip_val,
                              estimated_stepping_batches=cfg.trainer.max_steps)
    return RawGPTLoop(trainer, model), RawGPTLoop(trainer, model)


def alternated_ratio(first: RawGPTLoop, second: RawGPTLoop, steps: int, rounds: int, warmup: int) -> float:
    """Median over rounds of first/second tokens/s, each round timing `steps` of first, then `steps` of second."""
    first.run(warmup)
    second.run(warmup)
    ratios = []
    for _ in range(rounds):
        seconds = []
        for loop in (first, second):
            watch = common.Stopwatch()
            watch.start()
            loop.run(steps)
            seconds.append(watch.take()[0])
        ratios.append(seconds[1] / seconds[0])  # tokens/s first / second
    return common.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="steps per segment and side (default 20)")
    parser.add_argument("--rounds", type=int, default=24, help="timed segment pairs per run (default 24)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps per side first (default 10)")
    parser.add_argument("--runs", type=int, default=3, help="independent runs, each with new copies (default 3)")
    parser.add_argument("--data-dir", default=os.environ.get("GENLAB_DATA_DIR", "../shared/data"))
    parser.add_argument("--cache-dir", default=os.environ.get("GENLAB_CACHE_DIR", "outputs/.cache"))
    args = parser.parse_args()
    common.print_environment()
    ratios = [alternated_ratio(*cpu_recipe_loops(Path(args.data_dir), Path(args.cache_dir)), args.steps, args.rounds,
                               args.warmup) for _ in range(args.runs)]
    print(f"same raw loop, first/second tokens/s (median of {args.rounds} rounds of {args.steps} steps), per run: "
          + ", ".join(f"{ratio:.3f}" for ratio in ratios))
    print(f"noise floor: {min(ratios):.3f}-{max(ratios):.3f} (an exact measurement would print 1.000 every run)")


if __name__ == "__main__":
    sys.exit(main())
