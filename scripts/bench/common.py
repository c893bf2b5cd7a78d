"""Shared benchmark helpers: medians, interleaved rounds, tables, and genlab-vs-raw segments inside one genlab fit.

Scripts in this folder are run as `python scripts/bench/<name>.py`, so Python puts this folder on sys.path and
they `import common`. genlab-train instantiates `common.InterleavedSegments` from a `+callbacks.<key>._target_`
override (see `run_genlab_train`).
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from hydra.utils import get_class
from lightning.pytorch import Callback, LightningModule, Trainer


def median(values: list[float]) -> float:
    return statistics.median(values)


def interleaved_rounds(measures: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run every measure once per round, in reversed order on odd rounds (ABBA), so load drift hits all alike."""
    samples = {name: [] for name in measures}
    for round_index in range(rounds):
        order = list(measures) if round_index % 2 == 0 else list(reversed(measures))
        for name in order:
            samples[name].append(measures[name]())
    return samples


def print_environment() -> None:
    """Torch's intra-op threads and the machine load, so every printed figure carries the conditions it ran under."""
    import torch

    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"torch {torch.__version__}, torch.get_num_threads()={torch.get_num_threads()}, "
          f"cpus={os.cpu_count()}, loadavg (1, 5, 15 min)={load}")


def print_table(headers: list[str], rows: list[list]) -> None:
    """Columns right-aligned to their widest cell; floats as given (format them before)."""
    cells = [headers, *[[str(cell) for cell in row] for row in rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    for row in cells:
        print("  ".join(cell.rjust(width) if column else cell.ljust(width)
                        for column, (cell, width) in enumerate(zip(row, widths))))


def print_ratio(what: str, value: float, target: float, higher_is_better: bool = True) -> None:
    """The final `ratio` line every script ends with."""
    met = value >= target if higher_is_better else value <= target
    sign = ">=" if higher_is_better else "<="
    verdict = "OK" if met else "BELOW TARGET" if higher_is_better else "OVER TARGET"
    print(f"ratio {what} = {value:.3f} (target {sign} {target}): {verdict}")


# ---- genlab fit vs raw PyTorch loop, alternated in segments of one process ------------------------------------
class Stopwatch:
    """Wall and process-CPU seconds over intervals that can be paused; CPU time shrugs off other processes' load."""

    def __init__(self):
        self.wall, self.cpu, self.since = 0.0, 0.0, None

    def start(self) -> None:
        self.since = (time.perf_counter(), time.process_time())

    def stop(self) -> None:
        if self.since is not None:
            self.wall += time.perf_counter() - self.since[0]
            self.cpu += time.process_time() - self.since[1]
            self.since = None

    def take(self) -> tuple[float, float]:
        """Stop, and return and clear the (wall, cpu) seconds so far."""
        self.stop()
        seconds, self.wall, self.cpu = (self.wall, self.cpu), 0.0, 0.0
        return seconds


class InterleavedSegments(Callback):
    """Alternates segments of a genlab fit with segments of a raw PyTorch loop, in one process.

    After `warmup` untimed steps on each side, `rounds` times: `steps` genlab batches (timed between this callback's
    `on_train_batch_end` calls, so a segment is `steps` full Lightning iterations: fetch, hooks, step, logging), then
    `steps` raw steps (timed around `raw_loop.run`). Epoch ends (validation, checkpoints, sample logging) are paused
    out of the genlab time and reported as `excluded_s`. `raw_loop` names a class built as `cls(trainer, pl_module)`
    at train start, with `run(steps) -> list[dict]` (each step's losses), `genlab_losses(outputs) -> dict`,
    `items_per_step`, and optionally `on_genlab_batch_start()`. Timings (wall and CPU) and losses go to `report`.
    """

    def __init__(self, raw_loop: str, steps: int, rounds: int, warmup: int, report: str):
        self.raw_loop_class, self.report = get_class(raw_loop), Path(report)
        self.plan = [warmup] + [steps] * rounds  # segment 0 is the untimed warmup
        self.raw = None
        self.segment, self.done_in_segment = 0, 0
        self.genlab_watch, self.epoch_end_watch = Stopwatch(), Stopwatch()
        self.seconds: dict[str, list[tuple[float, float]]] = {"genlab": [], "raw": []}
        self.losses: dict[str, list[dict]] = {"genlab": [], "raw": []}

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.raw = self.raw_loop_class(trainer, pl_module)
        self.genlab_watch.start()

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.epoch_end_watch.since is not None:
            self.epoch_end_watch.stop()
            self.genlab_watch.start()

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch, batch_idx: int) -> None:
        if hasattr(self.raw, "on_genlab_batch_start"):
            self.raw.on_genlab_batch_start()

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        if self.segment >= len(self.plan):
            return
        self.losses["genlab"].append(self.raw.genlab_losses(outputs))
        self.done_in_segment += 1
        if self.done_in_segment == self.plan[self.segment]:
            self.finish_segment(self.genlab_watch.take())
            self.genlab_watch.start()
        if trainer.fit_loop.epoch_loop.batch_progress.is_last_batch and self.segment < len(self.plan):
            self.genlab_watch.stop()  # validation etc. follow: paused until the next epoch starts
            self.epoch_end_watch.start()

    def finish_segment(self, genlab_seconds: tuple[float, float]) -> None:
        """Record the genlab segment, then run and time the raw segment of the same length."""
        raw_watch = Stopwatch()
        raw_watch.start()
        self.losses["raw"] += self.raw.run(self.plan[self.segment])
        raw_seconds = raw_watch.take()
        if self.segment > 0:
            self.seconds["genlab"].append(genlab_seconds)
            self.seconds["raw"].append(raw_seconds)
        self.segment, self.done_in_segment = self.segment + 1, 0
        if self.segment == len(self.plan):
            self.write_report()

    def write_report(self) -> None:
        self.report.write_text(json.dumps({
            "steps": self.plan[1:], "warmup": self.plan[0], "items_per_step": self.raw.items_per_step,
            "seconds": self.seconds, "excluded_s": self.epoch_end_watch.take()[0],
            "losses": {side: [{name: float(value) for name, value in step.items()} for step in losses]
                       for side, losses in self.losses.items()},
        }))


def run_genlab_train(overrides: list[str], log_path: Path) -> None:
    """Run genlab-train in this process as its console script does (`genlab.train.main`, the real Hydra app), its
    stdout and stderr sent to `log_path`; SystemExit with the log's tail if it fails."""
    from genlab.train import main

    argv, code = sys.argv, 0
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.argv = ["genlab-train", *overrides]
        try:
            main()
        except SystemExit as exit_:
            code = exit_.code
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            sys.argv = argv
    if code not in (None, 0):
        tail = "\n".join(log_path.read_text().splitlines()[-30:])
        raise SystemExit(f"genlab-train {' '.join(overrides)} failed (exit {code}); the end of {log_path}:\n{tail}")


def segment_overrides(raw_loop: str, steps: int, rounds: int, warmup: int, report: Path) -> list[str]:
    """genlab-train overrides adding `InterleavedSegments` and stopping the fit when the last segment ends."""
    key = "+callbacks.interleaved_segments"
    return [
        f"trainer.max_steps={warmup + steps * rounds}",
        f"{key}._target_=common.InterleavedSegments", f"{key}.raw_loop={raw_loop}", f"{key}.steps={steps}",
        f"{key}.rounds={rounds}", f"{key}.warmup={warmup}", f"{key}.report={report}",
    ]


def sampler_batches(sampler, batch_size: int, drop_last: bool = True):
    """Index batches (LongTensor) of a genlab EpochSampler, epoch after epoch, as a DataLoader over it yields them."""
    epoch = 0
    while True:
        sampler.set_epoch(epoch)  # what Lightning does before each epoch
        order = torch.tensor(list(sampler), dtype=torch.long)
        end = len(order) - len(order) % batch_size if drop_last else len(order)
        yield from order[:end].split(batch_size)
        epoch += 1


def segment_benchmark(doc: str, experiment: list[str], raw_loop: str, items: str, target: float) -> None:
    """The command line of bench_gpt/bench_gan: run genlab-train with `experiment` overrides (plus the user's) and
    InterleavedSegments over `raw_loop` (a class of the calling script), then print the report."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="steps per segment and side (default 50)")
    parser.add_argument("--rounds", type=int, default=10, help="timed genlab/raw segment pairs (default 10)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps per side first (default 10)")
    parser.add_argument("--output-dir", help="where the genlab run goes (default: a temporary dir, removed)")
    parser.add_argument("--cache-dir", default=os.environ.get("GENLAB_CACHE_DIR", "outputs/.cache"),
                        help="genlab's cache (tokens, FID feature net), default genlab's own")
    parser.add_argument("overrides", nargs="*", help="extra genlab-train overrides, e.g. data.batch_size=32")
    args = parser.parse_args()
    print_environment()
    with tempfile.TemporaryDirectory(prefix="genlab_bench_") as scratch:
        output_dir = Path(args.output_dir or scratch).resolve()
        output_dir.mkdir(parents=True, exist_ok=True)
        report, log = output_dir / "segments.json", output_dir / "genlab_train.log"
        overrides = [
            *experiment, f"paths.output_dir={output_dir}", f"paths.cache_dir={Path(args.cache_dir).resolve()}",
            *segment_overrides(raw_loop, args.steps, args.rounds, args.warmup, report), *args.overrides,
        ]
        print(f"genlab-train {' '.join(overrides)}")
        run_genlab_train(overrides, log)
        print()
        print_segment_report(report, items, target)


def format_losses(losses: dict) -> str:
    return " ".join(f"{name}={value:.4f}" for name, value in losses.items())


def mean_losses(losses: list[dict]) -> dict:
    return {name: statistics.fmean(step[name] for step in losses if name in step) for name in losses[-1]}


def print_segment_report(report_path: Path, items: str, target: float) -> None:
    """Per-round and median throughput of both sides, their final losses, and the genlab/raw ratio line."""
    report = json.loads(report_path.read_text())
    steps, seconds, losses = report["steps"], report["seconds"], report["losses"]
    ms = {side: [(1000 * wall / n, 1000 * cpu / n) for n, (wall, cpu) in zip(steps, seconds[side])] for side in seconds}
    print_table(
        ["round", "genlab ms/iter", "raw ms/iter", "genlab/raw", "cpu genlab/raw"],
        [[index + 1, f"{genlab[0]:.2f}", f"{raw[0]:.2f}", f"{raw[0] / genlab[0]:.3f}", f"{raw[1] / genlab[1]:.3f}"]
         for index, (genlab, raw) in enumerate(zip(ms["genlab"], ms["raw"]))],
    )
    print()
    wall = {side: median([w for w, _ in values]) for side, values in ms.items()}
    cpu = {side: median([c for _, c in values]) for side, values in ms.items()}
    last = steps[-1]
    print_table(
        ["side", f"{items}/s", "ms/iter", "cpu ms/iter", "final loss (last step)", f"mean loss (last {last} steps)"],
        [[side, f"{1000 * report['items_per_step'] / wall[side]:,.0f}", f"{wall[side]:.2f}", f"{cpu[side]:.2f}",
          format_losses(losses[side][-1]), format_losses(mean_losses(losses[side][-last:]))] for side in ("genlab", "raw")],
    )
    paired = median([raw[0] / genlab[0] for genlab, raw in zip(ms["genlab"], ms["raw"])])
    print(f"{report['warmup'] + sum(steps)} steps per side ({report['warmup']} untimed warmup), "
          f"{report['items_per_step']} {items} per step; genlab epoch-end time excluded: {report['excluded_s']:.1f} s")
    print(f"ratio of the median {items}/s {wall['raw'] / wall['genlab']:.3f}; "
          f"of the median process-CPU times {cpu['raw'] / cpu['genlab']:.3f}")
    # the paired per-round ratio: a load burst spoils one round, not every segment of one side
    print_ratio(f"genlab/raw {items}/s (median of the per-round ratios)", paired, target)
