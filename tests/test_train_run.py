"""Specification of a genlab-train run: its directory, files, status, metrics and step semantics."""
import csv

import torch

from conftest import FAST, read_run_info, run_dirs


def test_short_dcgan_digits_run_writes_checkpoints_samples_metrics_and_completed_run_info(run_cli, output_dir):
    result = run_cli("train", *FAST)
    assert result.exit_code == 0, result.stderr
    (run_dir,) = run_dirs(output_dir)
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert list((run_dir / "checkpoints").glob("best-*.ckpt"))
    assert sorted(p.name for p in (run_dir / "samples").glob("*.png")) == ["epoch_000.png", "epoch_001.png"]
    assert (run_dir / ".hydra" / "config.yaml").is_file() and (run_dir / "config_tree.log").is_file()
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
    assert any(row.get("train/g_loss") for row in rows) and any(row.get("val/d_loss") for row in rows)
    info = read_run_info(run_dir)
    assert info["status"] == "completed" and info["error"] is None
    assert info["run_id"] in run_dir.name and run_dir.name.startswith(info["start_time"][:10])
    assert {"torch", "lightning", "hydra-core", "torchmetrics"} <= set(info["versions"])
    assert {"sha", "dirty"} <= set(info["git"]) and info["pid"] > 0 and info["host"]
    assert info["heartbeat"] and info["end_time"] and "test/d_loss" in info["final_metrics"]


def test_gan_step_is_one_generator_update_so_max_steps_10_means_10_updates_of_each_network(run_cli, output_dir):
    result = run_cli("train", "trainer.max_steps=10", "trainer.max_epochs=-1", "test=false",
                     "callbacks.rich_progress_bar=null", "trainer.log_every_n_steps=1")
    assert result.exit_code == 0, result.stderr
    (run_dir,) = run_dirs(output_dir)
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 10
    generator_state, discriminator_state = (opt["state"][0] for opt in checkpoint["optimizer_states"])
    assert int(generator_state["step"]) == 10 and int(discriminator_state["step"]) == 10
    logged_steps = [int(row["step"]) for row in csv.DictReader(open(run_dir / "metrics.csv")) if row.get("train/g_loss")]
    assert logged_steps == list(range(10))


def test_two_runs_in_the_same_second_get_different_run_dirs(run_cli, output_dir):
    for _ in range(2):
        assert run_cli("train", "debug=fdr", "task_name=same").exit_code == 0
    dirs = run_dirs(output_dir, "same")
    assert len(dirs) == 2 and dirs[0] != dirs[1]
    ids = {read_run_info(d)["run_id"] for d in dirs}
    assert len(ids) == 2


def test_checkpoint_interval_counts_generator_updates(run_cli, output_dir):
    result = run_cli("train", "trainer.max_steps=9", "trainer.max_epochs=-1", "test=false", "callbacks.rich_progress_bar=null",
                     "callbacks.model_checkpoint.every_n_train_steps=3", "callbacks.model_checkpoint.every_n_epochs=null",
                     "callbacks.model_checkpoint.save_top_k=-1")
    assert result.exit_code == 0, result.stderr
    (run_dir,) = run_dirs(output_dir)
    steps = sorted(int(p.stem.split("step")[1]) for p in (run_dir / "checkpoints").glob("best-*.ckpt"))
    assert steps == [3, 6, 9]


def test_multirun_puts_each_job_under_one_sweep_dir_with_its_own_run_id(run_cli, output_dir):
    result = run_cli("train", "-m", "debug=fdr", "seed=1,2")
    assert result.exit_code == 0, result.stderr
    (sweep_dir,) = (output_dir / "debug" / "multiruns").iterdir()
    jobs = sorted(p for p in sweep_dir.iterdir() if p.is_dir())
    assert [job.name for job in jobs] == ["0", "1"]
    infos = [read_run_info(job) for job in jobs]
    assert all(info["status"] == "completed" for info in infos)
    assert len({info["run_id"] for info in infos}) == 2
    assert [info["overrides"] for info in infos] == [["debug=fdr", "seed=1"], ["debug=fdr", "seed=2"]]


def test_float32_matmul_precision_is_set_for_the_run(run_cli):
    try:
        result = run_cli("train", "debug=fdr", "callbacks.rich_progress_bar=null", "float32_matmul_precision=medium")
        assert result.exit_code == 0, result.stderr
        assert torch.get_float32_matmul_precision() == "medium"
    finally:
        torch.set_float32_matmul_precision("highest")
