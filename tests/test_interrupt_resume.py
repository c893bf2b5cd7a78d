"""Stopping and continuing runs: signals save a checkpoint, resume continues the same run exactly."""
import csv
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

import genlab
from conftest import FAST, REPO, read_run_info, run_dirs


def wait_for(path_glob, root, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(root.glob(path_glob))
        if found:
            return found[0]
        time.sleep(0.2)
    raise TimeoutError(f"{path_glob} never appeared under {root}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_saves_a_loadable_checkpoint_and_marks_the_run_interrupted(output_dir, sig):
    process = subprocess.Popen(
        [sys.executable, "-m", "genlab.train", "trainer.max_epochs=1000", "test=false", "callbacks.rich_progress_bar=null"],
        cwd=REPO, env={**os.environ, "GENLAB_OUTPUT_DIR": str(output_dir)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_for("dcgan_digits/runs/*/samples/epoch_000.png", output_dir)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 2
    assert f"stopped by {sig.name}; checkpoint saved to" in stderr.strip().splitlines()[-1]
    (run_dir,) = run_dirs(output_dir)
    info = read_run_info(run_dir)
    assert info["status"] == "interrupted" and sig.name in info["error"]
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] >= 19  # at least the first epoch (19 batches) finished
    assert genlab.load(run_dir / "checkpoints" / "last.ckpt").sample(2, seed=0).shape == (2, 16, 16, 1)


def logged_train_steps(run_dir):
    return [int(row["step"]) for row in csv.DictReader(open(run_dir / "metrics.csv")) if row.get("train/g_loss")]


def test_resume_continues_the_same_run_dir_id_step_count_and_metrics_csv(run_cli, output_dir):
    assert run_cli("train", *FAST).exit_code == 0
    (run_dir,) = run_dirs(output_dir)
    first = read_run_info(run_dir)
    assert logged_train_steps(run_dir) == list(range(8))
    result = run_cli("train", *FAST, f"resume={run_dir}", "ckpt_path=last", "trainer.max_epochs=4")
    assert result.exit_code == 0, result.stderr
    assert run_dirs(output_dir) == [run_dir]
    resumed = read_run_info(run_dir)
    assert resumed["run_id"] == first["run_id"] and resumed["start_time"] == first["start_time"]
    assert resumed["status"] == "completed" and len(resumed["resumed_times"]) == 1
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 16
    assert logged_train_steps(run_dir) == list(range(16))


def test_resume_alone_continues_with_the_runs_own_arguments_and_given_ones_win(run_cli, output_dir):
    own = [*FAST, "model.spectral_norm=true", "model.lr_d=3e-4"]  # a discriminator the default config does not build
    assert run_cli("train", *own).exit_code == 0
    (run_dir,) = run_dirs(output_dir)
    result = run_cli("train", f"resume={run_dir}", "ckpt_path=last", "trainer.max_epochs=3")
    assert result.exit_code == 0, result.stderr
    resumed = read_run_info(run_dir)
    assert resumed["status"] == "completed" and len(resumed["resumed_times"]) == 1
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 12  # 3 epochs of 4
    assert logged_train_steps(run_dir) == list(range(12))
    config = (run_dir / ".hydra" / "config.yaml").read_text()
    assert "spectral_norm: true" in config and "lr_d: 0.0003" in config


def test_a_resumed_metrics_csv_gets_the_checkpoints_unlogged_row_once(tmp_path):
    """The row a checkpoint carries (genlab.callbacks.step_row) is added when the killed run never wrote it, and not
    again when it did; rows logged after the checkpoint are dropped as before."""
    from genlab.loggers.run_csv import AppendingExperimentWriter

    def resume_and_log(unlogged_step: int):
        writer = AppendingExperimentWriter(str(tmp_path), resumed=True)
        writer.unlogged_row = {"step": unlogged_step, "metrics": {"epoch": 0, "train/loss": 0.8}}
        writer.log_metrics({"epoch": 0, "train/loss": 0.7}, 3)
        writer.save()
        with open(tmp_path / "metrics.csv", newline="") as handle:
            return [(int(row["step"]), float(row["train/loss"])) for row in csv.DictReader(handle)]

    killed = AppendingExperimentWriter(str(tmp_path))
    for step, loss in [(0, 1.0), (1, 0.9), (3, 0.75)]:  # step 2's row never written; step 3 after the checkpoint
        killed.log_metrics({"epoch": 0, "train/loss": loss}, step)
    killed.save()
    assert resume_and_log(2) == [(0, 1.0), (1, 0.9), (2, 0.8), (3, 0.7)]
    assert resume_and_log(2) == [(0, 1.0), (1, 0.9), (2, 0.8), (3, 0.7)]  # step 2 already there: not added twice


def logged_losses(run_dir):
    return [(int(row["step"]), row["train/g_loss"]) for row in csv.DictReader(open(run_dir / "metrics.csv"))
            if row.get("train/g_loss")]


def test_a_run_stopped_by_sigterm_and_resumed_logs_every_step_once_with_the_uninterrupted_values(output_dir):
    """Checkpoints after every step and a validation each epoch: the stop must not run Lightning's early-stop
    validation, whose end-of-validation checkpoint resumes a logger step behind (one row lost, the rest shifted)."""
    every_step = ["task_name=every_step", "metrics=none", "test=false", "trainer.limit_val_batches=1",
                  "trainer.log_every_n_steps=1", "callbacks.rich_progress_bar=null", "trainer.max_steps=30",
                  "callbacks.model_checkpoint.every_n_train_steps=1", "callbacks.model_checkpoint.every_n_epochs=null"]
    env = {**os.environ, "GENLAB_OUTPUT_DIR": str(output_dir)}
    uninterrupted = subprocess.run([sys.executable, "-m", "genlab.train", *every_step, "task_name=whole"], cwd=REPO,
                                   env=env, capture_output=True, text=True, timeout=300)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-2000:]
    (whole,) = run_dirs(output_dir, "whole")
    process = subprocess.Popen([sys.executable, "-m", "genlab.train", *every_step], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        run_dir = wait_for("every_step/runs/*", output_dir)
        deadline = time.monotonic() + 120
        while not ((run_dir / "metrics.csv").is_file() and len(logged_losses(run_dir)) >= 3):
            assert time.monotonic() < deadline and process.poll() is None, "the run never logged 3 steps"
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 2 and "stopped by SIGTERM" in stderr
    assert len(logged_losses(run_dir)) < 30
    resumed = subprocess.run([sys.executable, "-m", "genlab.train", f"resume={run_dir}"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert logged_losses(run_dir) == logged_losses(whole) and len(logged_losses(whole)) == 30
