"""Loss per wall-clock second on tiny Shakespeare: nanoGPT's recipe, genlab's speedrun recipe and the LSTM recipe,
trained for the same budgets in one run on this machine, each scored on the whole validation split.

For every seed: first `experiment=gpt_shakespeare_cpu` as nanoGPT runs it (2000 steps, its own schedule), whose
training time T (validations left out) is the budget "2000-step time"; then each recipe for each budget, bounded by
`trainer.max_time` with its learning-rate schedule stretched over the budget (model.lr_decay_steps=null) and one
validation at the end. Runs are real `genlab-train` processes (startup is outside the budget). The recipes' order is
reversed on every other budget, so load drift hits all of them alike.

Before the timed runs each recipe trains once for a few seconds, untimed, so every timed run finds what a user's second
run of a recipe finds: torch.compile's on-disk cache filled (the speedrun recipe compiles its network, inside its
budget) and the data in the OS's file cache. The warm-up's seconds are printed; `--cold` leaves it out.

Prints the frontier table (median val/loss over seeds, each seed's in brackets) and the ratio "time the speedrun
recipe needs to reach the nanoGPT recipe's final loss / T", interpolated linearly between the budgets around it.

Usage: python scripts/bench/bench_lm_frontier.py [--seeds 1 2 3] [--budgets 30 60] [--data-dir ../shared/data]
                                                 [--output-dir DIR] [--cold] [OVERRIDE ...]
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import median
from lightning.pytorch import Callback, LightningModule, Trainer

HERE = Path(__file__).resolve().parent
RECIPES = {"nanogpt": "gpt_shakespeare_cpu", "speedrun": "gpt_shakespeare_speedrun", "lstm": "lstm_shakespeare"}
ONE_FINAL_VALIDATION = ["trainer.check_val_every_n_epoch=null", "trainer.val_check_interval=1000000"]
TARGET = 0.5
WARMUP_BUDGET = 5.0


class TrainClock(Callback):
    """Writes the fit's training wall time, validations left out, and its steps to `report` (JSON) at train end."""

    def __init__(self, report: str):
        self.report, self.seconds, self.since, self.training = Path(report), 0.0, None, False

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.training, self.since = True, time.perf_counter()

    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.since is not None:
            self.seconds += time.perf_counter() - self.since
            self.since = None

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.training:  # a validation inside the fit (not the sanity check before it): training goes on
            self.since = time.perf_counter()

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.on_validation_start(trainer, pl_module)
        self.training = False
        self.report.write_text(json.dumps({"train_seconds": self.seconds, "steps": trainer.global_step}))


def train(name: str, seed: int, budget: float | None, args, output_dir: Path) -> dict:
    """One genlab-train run of recipe `name`: its final whole-split val/loss, training seconds and steps."""
    run_dir = output_dir / f"{name}_s{seed}_{'steps' if budget is None else f'{budget:g}s'}"
    report = run_dir / "train_clock.json"
    overrides = [f"experiment={RECIPES[name]}", f"seed={seed}", f"paths.data_dir={args.data_dir}",
                 f"paths.output_dir={run_dir}", f"paths.cache_dir={args.cache_dir}", "logger=none",
                 "callbacks.rich_progress_bar=null", "callbacks.sample_logger=null", "callbacks.model_checkpoint=null",
                 "+callbacks.train_clock._target_=bench_lm_frontier.TrainClock", f"+callbacks.train_clock.report={report}"]
    if budget is not None:
        overrides += ["trainer.max_steps=-1", "model.lr_decay_steps=null", f"trainer.max_time={{seconds:{budget}}}",
                      *ONE_FINAL_VALIDATION]
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "genlab.train", *overrides, *args.overrides], env=env,
                            capture_output=True, text=True)
    if result.returncode:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise SystemExit(f"genlab-train {' '.join(overrides)} failed (exit {result.returncode}):\n{tail}")
    (metrics,) = run_dir.glob("*/runs/*/metrics.csv")
    losses = [float(row["val/loss"]) for row in csv.DictReader(metrics.open()) if row.get("val/loss")]
    return {"loss": losses[-1], **json.loads(report.read_text())}


def warm_up(args, output_dir: Path) -> None:
    """Each recipe once for WARMUP_BUDGET seconds, untimed: compiles and caches what the timed runs then reuse."""
    for name in RECIPES:
        start = time.perf_counter()
        train(name, 0, WARMUP_BUDGET, args, output_dir)
        print(f"warm-up: {name} recipe, {time.perf_counter() - start:.1f} s in all (startup, any compiling and the "
              "final validation included)", flush=True)


def time_to_reach(points: list[tuple[float, float]], target: float) -> tuple[float, str]:
    """Seconds at which the (budget, loss) frontier first reaches `target`, interpolated linearly; '<=' when even
    the smallest budget is below it, '>' when none reaches it."""
    points = sorted(points)
    if points[0][1] <= target:
        return points[0][0], "<="
    for (t0, l0), (t1, l1) in zip(points, points[1:]):
        if l1 <= target:
            return t0 + (t1 - t0) * (l0 - target) / (l0 - l1), "="
    return points[-1][0], ">"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--budgets", type=float, nargs="+", default=[30, 60],
                        help="wall-clock budgets in seconds besides the nanoGPT recipe's 2000-step time")
    parser.add_argument("--data-dir", default=os.environ.get("GENLAB_DATA_DIR", "../shared/data"))
    parser.add_argument("--cache-dir", default=os.environ.get("GENLAB_CACHE_DIR", "outputs/.cache"))
    parser.add_argument("--output-dir", help="where the runs go (default: a temporary dir, removed)")
    parser.add_argument("--cold", action="store_true", help="no untimed warm-up run of each recipe first")
    parser.add_argument("overrides", nargs="*", help="genlab-train overrides for every run, e.g. trainer.precision=...")
    args = parser.parse_args()
    args.data_dir, args.cache_dir = str(Path(args.data_dir).resolve()), str(Path(args.cache_dir).resolve())
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, cpus={os.cpu_count()}, loadavg={load}")
    with tempfile.TemporaryDirectory(prefix="genlab_frontier_") as scratch:
        output_dir = Path(args.output_dir or scratch).resolve()
        results = {name: {} for name in RECIPES}  # name -> budget label -> [loss per seed]
        references, ratios = [], []
        if not args.cold:
            warm_up(args, output_dir / "warm_up")
        for seed in args.seeds:
            reference = train("nanogpt", seed, None, args, output_dir)
            T = round(reference["train_seconds"], 1)
            references.append(reference)
            print(f"seed {seed}: nanoGPT recipe, {reference['steps']} steps in {T} s: val/loss {reference['loss']:.4f}",
                  flush=True)
            results["nanogpt"].setdefault("T", []).append(reference["loss"])
            frontier = []
            for index, budget in enumerate([*args.budgets, T]):
                label = "T" if budget == T else f"{budget:g}"
                names = [name for name in RECIPES if not (name == "nanogpt" and label == "T")]
                for name in names if index % 2 == 0 else reversed(names):
                    run = train(name, seed, budget, args, output_dir)
                    results[name].setdefault(label, []).append(run["loss"])
                    print(f"seed {seed}: {name} for {budget:g} s ({run['steps']} steps, {run['train_seconds']:.1f} s "
                          f"trained): val/loss {run['loss']:.4f}", flush=True)
                    if name == "speedrun":
                        frontier.append((run["train_seconds"], run["loss"]))
            seconds, relation = time_to_reach(frontier, reference["loss"])
            ratios.append((seconds / T, relation))
    print()
    T_values = [round(reference["train_seconds"], 1) for reference in references]
    labels = [*[f"{budget:g}" for budget in args.budgets], "T"]
    header = f"{'budget':<24}" + "".join(f"{name + ' recipe':>30}" for name in RECIPES)
    print(header)
    for label in labels:
        title = f"2000-step time ({median(T_values):.0f} s)" if label == "T" else f"{label} s"
        cells = []
        for name in RECIPES:
            losses = results[name].get(label, [])
            cells.append(f"{median(losses):.4f} [{' '.join(f'{loss:.3f}' for loss in losses)}]" if losses else "")
        print(f"{title:<24}" + "".join(f"{cell:>30}" for cell in cells))
    print(f"2000-step times: {', '.join(f'{t:.1f} s' for t in T_values)}")
    for seed, (ratio, relation) in zip(args.seeds, ratios):
        print(f"seed {seed}: the speedrun recipe reaches the nanoGPT recipe's final loss at {relation} {ratio:.3f} x T")
    value = median([ratio for ratio, _ in ratios])
    met = all(relation != ">" for _, relation in ratios) and value <= TARGET
    print(f"ratio speedrun time to the nanoGPT recipe's final loss / its 2000-step time = {value:.3f} "
          f"(median; target <= {TARGET}): {'OK' if met else 'OVER TARGET'}")


if __name__ == "__main__":
    main()
