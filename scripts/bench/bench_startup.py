"""genlab-train start-up latency: command to first training step, --help and a config error, beside a bare import.

Measured side by side in interleaved rounds (ABBA order), each a fresh process:
  first step   `genlab-train` (default experiment dcgan_digits, trainer.max_steps=1): launch → the first
               on_train_batch_start, stamped by `FirstStepStamp`, a callback added with a `+callbacks.` override
               (this folder on PYTHONPATH); the process then exits at once
  bare import  `python -c "import lightning.pytorch"`: launch → import done (same stamp)
  --help       `genlab-train --help`: launch → exit
  config error `genlab-train model=nope`: launch → exit (must fail with exit 2)
A further run of --help and of the config error under `python -X importtime` checks neither imports torch.
One untimed round first warms the page cache and genlab's caches (the FID feature net is trained once there).

Usage: python scripts/bench/bench_startup.py [--rounds 5] [--cache-dir outputs/.cache] [OVERRIDE ...]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
from lightning.pytorch import Callback

STAMP = "GENLAB_BENCH_STAMP"
FIRST_STEP_MARGIN_S, COMMAND_LIMIT_S = 1.5, 1.5
HEAVY_MODULES = ("torch", "lightning", "numpy")  # listed when imported; torch or lightning fails the check


class FirstStepStamp(Callback):
    """Prints the wall-clock time of the first training batch start, then ends the process (nothing else is timed)."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        print(f"{STAMP} {time.time()!r}", flush=True)
        os._exit(0)


def genlab_train_command() -> list[str]:
    """The installed console script beside this Python, else `python -m genlab.train`."""
    script = Path(sys.executable).parent / "genlab-train"
    return [sys.executable, str(script)] if script.is_file() else [sys.executable, "-m", "genlab.train"]


def launch_to_stamp(command: list[str], env: dict) -> float:
    """Seconds from launching `command` to the stamp it prints."""
    start = time.time()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    stamps = [line.split()[1] for line in result.stdout.splitlines() if line.startswith(STAMP)]
    if not stamps:
        raise SystemExit(f"no {STAMP} line from {' '.join(command)} (exit {result.returncode}):\n{result.stderr[-3000:]}")
    return float(stamps[0]) - start


def launch_to_exit(command: list[str], env: dict, expected_code: int) -> float:
    """Seconds from launching `command` to its exit, which must have `expected_code`."""
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != expected_code:
        raise SystemExit(f"{' '.join(command)} exited {result.returncode}, expected {expected_code}:\n{result.stderr[-3000:]}")
    return seconds


def heavy_imports(command: list[str], env: dict) -> list[str]:
    """Top-level packages among HEAVY_MODULES that `command` (a python command line) imports, by -X importtime."""
    result = subprocess.run([command[0], "-X", "importtime", *command[1:]], env=env, capture_output=True, text=True,
                            check=False)
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    return sorted(name for name in HEAVY_MODULES if name in imported)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of the four commands (default 5)")
    parser.add_argument("--cache-dir", default=os.environ.get("GENLAB_CACHE_DIR", "outputs/.cache"),
                        help="genlab cache for the first-step runs (default genlab's own)")
    parser.add_argument("overrides", nargs="*", help="extra overrides for the first-step run, e.g. experiment=dcgan_mnist")
    args = parser.parse_args()
    common.print_environment()
    genlab_train = genlab_train_command()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryDirectory(prefix="bench_startup_") as output_dir:
        first_step = [*genlab_train, "trainer.max_steps=1", f"paths.output_dir={output_dir}",
                      f"paths.cache_dir={Path(args.cache_dir).resolve()}",
                      "+callbacks.first_step_stamp._target_=bench_startup.FirstStepStamp", *args.overrides]
        measures = {
            "first step": lambda: launch_to_stamp(first_step, env),
            "bare import": lambda: launch_to_stamp(
                [sys.executable, "-c", f"import time, lightning.pytorch; print('{STAMP}', repr(time.time()))"], env),
            "--help": lambda: launch_to_exit([*genlab_train, "--help"], env, 0),
            "config error": lambda: launch_to_exit([*genlab_train, "model=nope"], env, 2),
        }
        print(f"first step: {' '.join(first_step[1:])}")
        common.interleaved_rounds(measures, 1)  # warm-up, untimed
        samples = common.interleaved_rounds(measures, args.rounds)
    medians = {name: common.median(values) for name, values in samples.items()}
    limits = {"first step": medians["bare import"] + FIRST_STEP_MARGIN_S, "--help": COMMAND_LIMIT_S,
              "config error": COMMAND_LIMIT_S}
    imports = {"--help": heavy_imports([*genlab_train, "--help"], env),
               "config error": heavy_imports([*genlab_train, "model=nope"], env)}
    print()
    common.print_table(
        ["command", "median s", "min s", "max s", "target s", "heavy imports"],
        [[name, f"{medians[name]:.2f}", f"{min(values):.2f}", f"{max(values):.2f}",
          f"<= {limits[name]:.2f}" if name in limits else "", ", ".join(imports.get(name, [])) or ("none" if name in imports else "")]
         for name, values in samples.items()],
    )
    over = [name for name, limit in limits.items() if medians[name] > limit]
    heavy = [name for name, found in imports.items() if {"torch", "lightning"} & set(found)]
    print(f"{args.rounds} rounds; over target: {', '.join(over) or 'none'}; "
          f"torch/Lightning imported by: {', '.join(heavy) or 'neither --help nor the config error'}")
    print(f"ratio first step / bare Lightning import = {medians['first step'] / medians['bare import']:.2f} "
          f"(first step - import = {medians['first step'] - medians['bare import']:+.2f} s, "
          f"target <= +{FIRST_STEP_MARGIN_S} s): {'OK' if 'first step' not in over else 'OVER TARGET'}")


if __name__ == "__main__":
    sys.exit(main())
