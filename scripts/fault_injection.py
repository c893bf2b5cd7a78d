"""Crash-safety fault injection: SIGKILL genlab-train runs at random moments, resume them, check nothing broke.

Per model (a small DCGAN on digits, a tiny GPT on Tiny Shakespeare) it runs uninterrupted references: two with the
same seed (the values a resume must reproduce) and one with the next seed (run-to-run noise). Each trial starts
`python -m genlab.train` in its own process group, waits until the run's first `checkpoints/last.ckpt` exists, sleeps
a seeded uniform time drawn over 90% of the rest of a reference's run time, then SIGKILLs the whole group (a run that
ends first is retried with half the delay). Kills come only after the first checkpoint: before it there is nothing to
resume and a rerun starts from scratch. It checks that
  - every `*.ckpt` of the run loads with `read_checkpoint` (no torn file); atomic-write temp files
    (`.<name>.<random>.tmp`) are counted, and must be gone after the resume;
  - lost steps = steps in metrics.csv at the kill (counting the row last.ckpt carries when the kill came between the
    checkpoint and that row, see genlab.callbacks.step_row) - step of last.ckpt, with 0 <= lost <= one interval;
  - `resume=<run_dir>` exits 0 at the reference's final step and last.ckpt step, run_info.json says `completed` with
    the same run_id, metrics.csv holds every train step once, and the final metric is within run-to-run noise
    (|resumed - reference| <= |reference - next-seed reference|). `exact` says whether every compared value equals
    the same-seed reference's (genlab's exact resume); `--require-exact` makes that a check too.
Targeted trials (`--targeted`) kill deterministically at the riskiest instants: inside `write_atomic` just before or
just after the rename of the N-th last.ckpt (`before-rename:N`, `after-rename:N`), or in a validation that follows a
checkpoint-interval step (`in-validation`); `in-training:N` (used by the tests) kills as batch N of the first epoch
starts.
Storage faults (`--fault`): `first-save` kills the run inside its first write of last.ckpt, at a random point of it
(a best checkpoint was written just before: the run resumes from it); `disk-full` (root) trains on a tmpfs sized at
random between the first checkpoints and all of them, checks the one-line error, the `failed` status, the kept
checkpoints and that no temp file is left, then gives the disk room and resumes.

Usage: python scripts/fault_injection.py [--fault kill|first-save|disk-full] [--models dcgan gpt] [--trials 10]
       [--seed 0] [--output-dir DIR] [--data-dir DIR] [--targeted] [--require-exact]   (exit 1 if any trial fails)
"""
import argparse
import csv
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from fault_processes import only_run_dir, run_to_end, start_run, subprocess_env, watch_run
from fault_setups import MODELS, TARGETED_DRIVER, ModelSetup
from genlab.callbacks.step_row import CHECKPOINT_KEY as STEP_ROW_KEY
from genlab.checkpoints import read_checkpoint, resumed_checkpoint
from genlab.errors import CheckpointError
from genlab.runs.run_info import read_run_info

TARGETED = ("before-rename:2", "after-rename:1", "in-validation")
FAULTS = ("kill", "first-save", "disk-full")
ENDED_BEFORE_KILL = "run ended by itself before the kill"
RETRIES = 3  # a run faster than the references may end before its kill: retried with half the delay


@dataclass
class Reference:
    """What an uninterrupted run ends with, and how long after its first checkpoint a kill may come."""

    final_step: int
    checkpoint_step: int
    values: dict[str, list[float]]
    final_metric: float
    noise: float  # |final metric - the next seed's|; 0 without that run
    kill_window_s: float


@dataclass
class Trial:
    model: str
    trial: str
    delay_s: float = math.nan  # drawn: after the first last.ckpt was seen
    kill_s: float = math.nan  # after the start
    step_at_kill: int = -1
    checkpoint_step: int = -1
    lost_steps: int = -1
    temp_files: int = 0
    final_step: int = -1
    final_metric: float = math.nan
    reference_metric: float = math.nan
    noise: float = math.nan
    exact: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def metrics_rows(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.csv"
    return list(csv.DictReader(path.open(newline=""))) if path.is_file() else []


def logged_steps(run_dir: Path, column: str) -> list[int]:
    return [int(row["step"]) for row in metrics_rows(run_dir) if row.get(column)]


def metric_values(run_dir: Path, columns: tuple[str, ...]) -> dict[str, list[float]]:
    rows = metrics_rows(run_dir)
    return {column: [float(row[column]) for row in rows if row.get(column)] for column in columns}


def checkpoint_step(path: Path) -> int:
    return int(read_checkpoint(path)["global_step"])


def inspect_checkpoints(run_dir: Path) -> tuple[int, list[str]]:
    """Load every *.ckpt of the run and count atomic-write leftovers (the resumed run removes them); returns
    (temp files, problems)."""
    problems = []
    for path in sorted(run_dir.rglob("*.ckpt")):
        try:
            read_checkpoint(path)
        except CheckpointError as error:
            problems.append(f"corrupt checkpoint: {error}")
    return sum(1 for path in run_dir.rglob(".*.tmp") if path.is_file()), problems


def reference_runs(setup: ModelSetup, env_for, workdir: Path, seed: int = 12345, log=print,
                   count: int = 3) -> Reference:
    """`count` uninterrupted runs: 1 gives the values to reproduce, 2 checks they repeat, 3 adds the next seed."""
    outcomes = []
    for index, run_seed in list(enumerate([seed, seed, seed + 1]))[:count]:
        out = workdir / f"reference_{index}_seed{run_seed}"
        outcome = run_to_end(setup.arguments(f"seed={run_seed}"), env_for(out), out)
        if outcome.exit_code != 0 or outcome.run_dir is None or outcome.first_checkpoint_s is None:
            raise RuntimeError(f"{setup.name} reference run failed or had no last.ckpt while running (exit "
                               f"{outcome.exit_code}); see {outcome.log_path}")
        log(f"{setup.name} reference seed={run_seed}: {outcome.seconds:.1f} s, first last.ckpt seen at "
            f"{outcome.first_checkpoint_s:.1f} s")
        outcomes.append(outcome)
    first = outcomes[0].run_dir
    values = metric_values(first, setup.compared)
    if count >= 2 and metric_values(outcomes[1].run_dir, setup.compared) != values:
        log(f"{setup.name}: two same-seed runs differ, so `exact` cannot hold on this machine")
    final_metric = values[setup.final_metric][-1]
    noise = abs(metric_values(outcomes[2].run_dir, setup.compared)[setup.final_metric][-1] - final_metric) \
        if count >= 3 else 0.0
    window = min(outcome.seconds - outcome.first_checkpoint_s for outcome in outcomes)
    return Reference(len(logged_steps(first, setup.train_column)), checkpoint_step(first / "checkpoints" / "last.ckpt"),
                     values, final_metric, noise, window)


def is_exact(values: dict[str, list[float]], reference: Reference) -> bool:
    return all(len(values[column]) == len(expected) and all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
                                                            for a, b in zip(values[column], expected))
               for column, expected in reference.values.items())


def run_trial(setup: ModelSetup, reference: Reference, name: str, env: dict, workdir: Path,
              kill_delay: float | None = None, targeted: str | None = None, require_exact: bool = False) -> Trial:
    """Start a run; SIGKILL it `kill_delay` s after its first checkpoint (or at the `targeted` moment); check; resume."""
    trial = Trial(setup.name, name, delay_s=math.nan if kill_delay is None else kill_delay,
                  reference_metric=reference.final_metric, noise=reference.noise)
    workdir.mkdir(parents=True, exist_ok=True)
    if targeted:
        env = {**env, "GENLAB_FAULT_MOMENT": targeted, "GENLAB_FAULT_EVERY": str(setup.checkpoint_every)}
    started = time.monotonic()
    process = start_run(setup.arguments(), env, workdir / "train.log", TARGETED_DRIVER if targeted else None)
    _, killed = watch_run(process, workdir, started, kill_delay)
    trial.kill_s = time.monotonic() - started if killed is None else killed
    run_dir = only_run_dir(workdir)
    if process.returncode != -signal.SIGKILL or run_dir is None:
        trial.problems.append(f"{ENDED_BEFORE_KILL} (exit {process.returncode}); see {workdir}")
        return trial
    return check_and_resume(setup, reference, trial, run_dir, env, workdir, require_exact)


def check_and_resume(setup: ModelSetup, reference: Reference, trial: Trial, run_dir: Path, env: dict, workdir: Path,
                     require_exact: bool = False) -> Trial:
    """After the fault: checkpoints load, at most one interval lost; then `resume=` reaches the reference's end."""
    env = {key: value for key, value in env.items() if not key.startswith("GENLAB_FAULT_")}
    run_id = read_run_info(run_dir).get("run_id")
    steps = logged_steps(run_dir, setup.train_column)
    trial.step_at_kill = steps[-1] + 1 if steps else 0
    trial.temp_files, problems = inspect_checkpoints(run_dir)
    trial.problems += problems
    try:
        resumed_from = resumed_checkpoint(run_dir)  # the one `resume=` continues from
    except CheckpointError as error:
        trial.problems.append(f"nothing to resume after the first checkpoint: {error}")
        return trial
    checkpoint = read_checkpoint(resumed_from)
    trial.checkpoint_step = int(checkpoint["global_step"])
    carried = checkpoint.get(STEP_ROW_KEY)
    if carried and carried["step"] == trial.step_at_kill:  # killed between the checkpoint and its batch's row
        trial.step_at_kill += 1
    trial.lost_steps = trial.step_at_kill - trial.checkpoint_step
    if not 0 <= trial.lost_steps <= setup.checkpoint_every:
        trial.problems.append(f"lost {trial.lost_steps} steps (metrics.csv at {trial.step_at_kill}, {resumed_from.name} "
                              f"at {trial.checkpoint_step}); expected 0..{setup.checkpoint_every}")

    resumed = run_to_end(setup.arguments(), env, workdir, resume=run_dir)
    if resumed.exit_code != 0:
        trial.problems.append(f"resume exited {resumed.exit_code}; see {resumed.log_path}")
        return trial
    steps, values, info = logged_steps(run_dir, setup.train_column), metric_values(run_dir, setup.compared), \
        read_run_info(run_dir)
    trial.final_step = len(steps)
    trial.final_metric = values[setup.final_metric][-1] if values[setup.final_metric] else math.nan
    trial.exact = is_exact(values, reference)
    leftover, problems = inspect_checkpoints(run_dir)
    trial.problems += problems + ([f"{leftover} temp files after the resume"] if leftover else [])
    if steps != list(range(reference.final_step)):
        missing = sorted(set(range(reference.final_step)) - set(steps))
        trial.problems.append(f"metrics.csv train steps are not 0..{reference.final_step - 1} once each "
                              f"(missing {missing[:5]}, {len(steps) - len(set(steps))} repeated)")
    if (step := checkpoint_step(run_dir / "checkpoints" / "last.ckpt")) != reference.checkpoint_step:
        trial.problems.append(f"last.ckpt at step {step}, the reference's at {reference.checkpoint_step}")
    if info.get("status") != "completed" or info.get("run_id") != run_id:
        trial.problems.append(f"run_info.json: status {info.get('status')}, run_id {info.get('run_id')} (was {run_id})")
    if not trial.exact and not abs(trial.final_metric - reference.final_metric) <= reference.noise:
        trial.problems.append(f"{setup.final_metric} off the reference by more than the run-to-run noise")
    if require_exact and not trial.exact:
        trial.problems.append("values differ from the same-seed reference's")
    return trial


def run_disk_full_trial(setup: ModelSetup, reference: Reference, name: str, env: dict, workdir: Path,
                        disk_bytes: int, require_exact: bool = False) -> Trial:
    """Train on a tmpfs of `disk_bytes` (root only) until the disk is full: one line naming the file, the run marked
    failed, earlier checkpoints intact and no temp file left; then, given room, `resume=` reaches the reference's end."""
    trial = Trial(setup.name, name, reference_metric=reference.final_metric, noise=reference.noise)
    disk = workdir / "disk"
    disk.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={disk_bytes}", "tmpfs", str(disk)], check=True)
    try:
        env = {**env, "GENLAB_OUTPUT_DIR": str(disk / "outputs")}
        started = time.monotonic()
        process = start_run(setup.arguments(), env, workdir / "train.log")  # the log beside the disk, not on it
        watch_run(process, disk / "outputs", started)
        trial.kill_s = time.monotonic() - started
        run_dir = only_run_dir(disk / "outputs")
        last_line = (workdir / "train.log").read_text().strip().splitlines()[-1]
        if process.returncode != 2 or run_dir is None or "no space left on the device to write" not in last_line:
            trial.problems.append(f"{ENDED_BEFORE_KILL}: exit {process.returncode}, last line {last_line[:200]!r}")
            return trial
        if (status := read_run_info(run_dir).get("status")) != "failed":
            trial.problems.append(f"run_info.json says {status} after the disk filled")
        subprocess.run(["mount", "-o", "remount,size=1G", str(disk)], check=True)  # room again
        trial = check_and_resume(setup, reference, trial, run_dir, env, workdir, require_exact)
        if trial.temp_files:
            trial.problems.append(f"{trial.temp_files} temp files left by the failed writes")
        return trial
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def disk_size(reference_dir: Path, fraction: float) -> int:
    """A disk holding the reference run's files but its checkpoints, and 1.3 to 2.9 of its largest checkpoint:
    room for the first saves, never for the best, the last and a temp file at once."""
    checkpoints = [path.stat().st_size for path in reference_dir.rglob("*.ckpt")]
    others = sum(path.stat().st_size for path in reference_dir.rglob("*") if path.is_file() and path.suffix != ".ckpt")
    return int(others + 256 * 1024 + max(checkpoints) * (1.3 + 1.6 * fraction))


def run_fault_injection(models: list[str], trials: int, seed: int, output_dir: Path, data_dir: str | None = None,
                        targeted: tuple[str, ...] = (), require_exact: bool = False,
                        setups: dict[str, ModelSetup] | None = None, log=print, fault: str = "kill") -> list[Trial]:
    """Reference runs, then for each model `trials` faults: kills at random moments (and the `targeted` ones), kills
    at a random point of the first last.ckpt's write (`first-save`), or disks filled at random sizes (`disk-full`)."""
    cache_dir = Path(os.environ.get("GENLAB_CACHE_DIR") or output_dir / "cache")
    results = []
    for model in models:
        setup, rng, workdir = (setups or MODELS)[model], random.Random(f"{seed}-{model}"), output_dir / model
        reference = reference_runs(setup, lambda out: subprocess_env(out, cache_dir, data_dir), workdir, log=log)
        window = 0.9 * reference.kill_window_s
        log(f"{model}: final step {reference.final_step}, {setup.final_metric} {reference.final_metric:.6g}, "
            f"next seed's differs by {reference.noise:.3g}; kills 0..{window:.1f} s after the first last.ckpt")
        if fault == "first-save":
            plan = [(name, None, name) for name in (f"first-save:{rng.random():.3f}" for _ in range(trials))]
        elif fault == "disk-full":
            plan = [(f"disk-full:{rng.random():.3f}", None, None) for _ in range(trials)]
        else:
            plan = [(f"{index:02d}", rng.uniform(0.0, window), None) for index in range(trials)]
        for name, delay, moment in [*plan, *((moment, None, moment) for moment in targeted)]:
            for attempt in range(RETRIES + 1):
                label = name if attempt == 0 else f"{name} (retry {attempt})"
                out = workdir / f"trial_{label.replace(':', '_').replace(' ', '_').strip('()')}"
                env = subprocess_env(out, cache_dir, data_dir)
                if fault == "disk-full":
                    fraction = float(name.partition(":")[2]) / 2 ** attempt  # a run that fit: a smaller disk
                    size = disk_size(workdir / "reference_0_seed12345", fraction)
                    trial = run_disk_full_trial(setup, reference, f"{label} {size / 2 ** 20:.1f}MB", env, out, size,
                                                require_exact)
                else:
                    trial = run_trial(setup, reference, label, env, out, delay, moment, require_exact)
                log(format_row(trial))
                if not any(ENDED_BEFORE_KILL in problem for problem in trial.problems) or moment is not None:
                    break
                delay = None if delay is None else delay / 2
            results.append(trial)
    return results


COLUMNS = ("model", "trial", "delay s", "kill s", "step@kill", "ckpt step", "lost", "tmp", "final step",
           "final metric", "ref metric", "|diff|", "noise", "exact", "ok")


def format_row(trial: Trial) -> str:
    cells = (trial.model, trial.trial, f"{trial.delay_s:.2f}", f"{trial.kill_s:.2f}", trial.step_at_kill,
             trial.checkpoint_step, trial.lost_steps, trial.temp_files, trial.final_step, f"{trial.final_metric:.6g}",
             f"{trial.reference_metric:.6g}", f"{abs(trial.final_metric - trial.reference_metric):.3g}",
             f"{trial.noise:.3g}", "yes" if trial.exact else "no",
             "ok" if trial.ok else "FAIL: " + "; ".join(trial.problems))
    return " | ".join(str(cell) for cell in cells)


def format_table(trials: list[Trial]) -> str:
    lines = [" | ".join(COLUMNS), " | ".join("---" for _ in COLUMNS), *(format_row(trial) for trial in trials)]
    lost = [trial.lost_steps for trial in trials if trial.lost_steps >= 0]
    lines.append(f"{sum(trial.ok for trial in trials)}/{len(trials)} trials ok, {sum(trial.exact for trial in trials)} "
                 f"exact; lost steps max {max(lost, default=0)}; temp files left by kills "
                 f"{sum(trial.temp_files for trial in trials)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fault", choices=FAULTS, default="kill",
                        help="kill: SIGKILL at random moments; first-save: kill inside the first save of last.ckpt; "
                             "disk-full: a small tmpfs fills up (root only)")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=None,
                        help="default: dcgan and gpt; dcgan_epochs for first-save (a best checkpoint comes first)")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="seeds the kill times (the runs use genlab's seed)")
    parser.add_argument("--output-dir", type=Path, default=None, help="default: a new temp dir (kept)")
    parser.add_argument("--data-dir", default=os.environ.get("GENLAB_DATA_DIR"), help="default: $GENLAB_DATA_DIR")
    parser.add_argument("--targeted", action="store_true", help=f"add the trials {', '.join(TARGETED)}")
    parser.add_argument("--require-exact", action="store_true", help="fail trials whose values are not exact")
    args = parser.parse_args(argv)
    if args.fault == "disk-full" and os.geteuid() != 0:
        parser.error("--fault disk-full mounts a tmpfs: run it as root")
    models = args.models or (["dcgan_epochs"] if args.fault == "first-save" else ["dcgan", "gpt"])
    output_dir = args.output_dir or Path(tempfile.mkdtemp(prefix="genlab-fault-"))
    started = time.monotonic()
    trials = run_fault_injection(models, args.trials, args.seed, output_dir, args.data_dir,
                                 TARGETED if args.targeted else (), args.require_exact,
                                 log=lambda line: print(line, flush=True), fault=args.fault)
    print(f"\n{format_table(trials)}\nwall time {time.monotonic() - started:.0f} s; runs under {output_dir}")
    return 0 if all(trial.ok for trial in trials) else 1


if __name__ == "__main__":
    sys.exit(main())
