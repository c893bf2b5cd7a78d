"""`genlab-train -m resume=<multirun_dir>`: a sweep killed with -9 midway finishes every job exactly once."""
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from conftest import REPO, read_run_info, run_subprocess
from genlab.runs.multirun_summary import read_summary

# Each job: 2 epochs x 12 batches of dcgan_digits (~2-3 s), a checkpoint every 2 batches, no FID.
JOB = ["trainer.max_epochs=2", "trainer.log_every_n_steps=1", "trainer.limit_train_batches=12", "trainer.limit_val_batches=1", "test=false",
       "metrics.feature_net=null", "callbacks.rich_progress_bar=null", "callbacks.model_checkpoint.every_n_train_steps=4",
       "callbacks.model_checkpoint.every_n_epochs=null",
       "optimized_metric=val/d_loss"]
GRID = ["seed=1,2,3,4", *JOB]
OPTUNA = ["hparams_search=dcgan_fid", "hydra.sweeper.n_trials=4", *JOB]
KILLED_JOB = 2


def start_sweep(output_dir: Path, arguments: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "genlab.train", "-m", *arguments], cwd=REPO,
                            env={**os.environ, "GENLAB_OUTPUT_DIR": str(output_dir)}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_sweep_during_job(process: subprocess.Popen, output_dir: Path, job: int, timeout: float = 240) -> Path:
    """SIGKILL the whole sweep once job `job` has written its first checkpoint; returns the sweep dir."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(output_dir.glob(f"dcgan_digits/multiruns/*/{job}/checkpoints/last.ckpt"))
        if found:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return found[0].parents[2]
        assert process.poll() is None, "the sweep ended before it could be killed"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    raise TimeoutError(f"job {job} never wrote a checkpoint")


def train_steps(run_dir: Path) -> tuple[list[int], list[int]]:
    """(step, epoch) of each logged training batch."""
    rows = [row for row in csv.DictReader(open(run_dir / "metrics.csv")) if row.get("train/g_loss")]
    return [int(row["step"]) for row in rows], [int(row["epoch"]) for row in rows]


def assert_each_job_completed_once(sweep_dir: Path, before: dict[int, dict]) -> list[dict]:
    """4 completed rows; jobs finished before the kill untouched, the killed one resumed once, the rest ran once."""
    rows = read_summary(sweep_dir)
    assert [(row["job_num"], row["status"]) for row in rows] == [(n, "completed") for n in range(4)]
    for row in rows:
        info = read_run_info(Path(row["run_dir"]))
        assert info["status"] == "completed" and row["run_id"] == info["run_id"]
        steps, epochs = train_steps(Path(row["run_dir"]))  # every batch logged once, none repeated, both epochs
        assert steps == list(range(len(steps))) and epochs == [0] * (len(steps) // 2) + [1] * (len(steps) // 2)
        if row["job_num"] < KILLED_JOB:
            assert info == before[row["job_num"]]  # skipped: not run again
        elif row["job_num"] == KILLED_JOB:
            assert info["run_id"] == before[KILLED_JOB]["run_id"] and len(info["resumed_times"]) == 1
        else:
            assert info["resumed_times"] == []
    return rows


@pytest.mark.parametrize("sweep", ["grid", "optuna"])
def test_a_sweep_killed_midway_resumes_into_its_dir_and_runs_each_job_to_completion_once(output_dir, sweep):
    sweep_dir = kill_sweep_during_job(start_sweep(output_dir, GRID if sweep == "grid" else OPTUNA), output_dir, KILLED_JOB)
    before = {n: read_run_info(sweep_dir / str(n)) for n in range(KILLED_JOB + 1)}
    assert [before[n]["status"] for n in before] == ["completed", "completed", "running"]
    assert [row["job_num"] for row in read_summary(sweep_dir)] == [0, 1]  # the killed job never wrote its row

    result = run_subprocess("train", "-m", f"resume={sweep_dir}")  # the sweep's own arguments come from the dir
    assert result.returncode == 0, result.stderr[-3000:]
    assert [p.name for p in (output_dir / "dcgan_digits" / "multiruns").iterdir()] == [sweep_dir.name]
    rows = assert_each_job_completed_once(sweep_dir, before)
    if sweep == "optuna":
        study = optuna.load_study(study_name="dcgan_fid", storage=f"sqlite:///{sweep_dir / 'optuna.db'}")
        assert [(t.number, t.state) for t in study.trials] == [(n, optuna.trial.TrialState.COMPLETE) for n in range(4)]
        assert [t.value for t in study.trials] == [row["metric_value"] for row in rows]
        assert len({tuple(sorted(t.params.items())) for t in study.trials}) == 4  # the new trial repeats no other
        killed = study.trials[KILLED_JOB]
        assert all(f"{key}={value}" in rows[KILLED_JOB]["overrides"] for key, value in killed.params.items())


def test_resuming_a_sweep_that_is_still_running_is_refused_in_one_line(output_dir):
    process = start_sweep(output_dir, GRID)
    try:
        deadline = time.monotonic() + 240
        while not list(output_dir.glob("dcgan_digits/multiruns/*/0/checkpoints/last.ckpt")):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        (sweep_dir,) = (output_dir / "dcgan_digits" / "multiruns").iterdir()
        result = run_subprocess("train", "-m", f"resume={sweep_dir}")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert result.returncode == 2
    last_line = result.stderr.strip().splitlines()[-1]
    assert f"resume={sweep_dir}: the sweep is still running (job 0 (pid " in last_line and "stop it first" in last_line


def test_a_multirun_dir_given_to_a_single_run_says_to_add_dash_m(run_cli, tmp_path):
    (tmp_path / "multirun.yaml").write_text("hydra: {}\n")
    result = run_cli("train", f"resume={tmp_path}")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].endswith(
        f"resume={tmp_path} is a multirun dir: resume the sweep with genlab-train -m resume={tmp_path}")
