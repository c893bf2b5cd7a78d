"""Specification of sweeps: multirun_summary.{csv,json} (basic and joblib launchers, failed jobs), Optuna searches."""
import csv
import json
import multiprocessing
import socket
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import yaml
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import RunMode
from omegaconf import OmegaConf

from conftest import read_run_info, run_subprocess
from genlab.errors import ConfigError
from genlab.runs.multirun_summary import SUMMARY_COLUMNS, SUMMARY_CSV, SUMMARY_JSON
from genlab.runs.multirun_summary import MultirunSummary, read_summary, record_job, record_unrecorded_jobs

TINY = ["debug=fdr", "test=false", "callbacks.rich_progress_bar=null"]  # one train/val batch per job
TINY_NO_FID = [*TINY, "metrics.feature_net=null"]
SEARCH_EXPERIMENT = {"dcgan_fid": [], "gpt_loss": ["experiment=gpt_shakespeare_cpu"]}


def sweep_dir_of(output_dir: Path, task_name: str = "debug") -> Path:
    (sweep_dir,) = (output_dir / task_name / "multiruns").iterdir()
    return sweep_dir


def overrides_of(row: dict) -> dict[str, str]:
    return dict(item.split("=", 1) for item in row["overrides"].split())


def csv_rows(sweep_dir: Path) -> list[dict[str, str]]:
    with open(sweep_dir / SUMMARY_CSV, newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == SUMMARY_COLUMNS
        return list(reader)


def as_csv_cells(row: dict) -> dict[str, str]:
    return {key: "" if row[key] is None else str(row[key]) for key in SUMMARY_COLUMNS}


def assert_rows_describe_their_run_dirs(sweep_dir: Path, rows: list[dict]) -> list[dict]:
    """Each row names its job's run dir and agrees with the run_info.json there (a job refused before its run began
    has no run id and no run_info.json); returns the run_infos of the jobs that ran."""
    assert [Path(row["run_dir"]) for row in rows] == [sweep_dir / str(row["job_num"]) for row in rows]
    ran = [row for row in rows if row["run_id"] is not None]
    for row in rows:
        assert (Path(row["run_dir"]) / "run_info.json").exists() == (row in ran)
    infos = [read_run_info(Path(row["run_dir"])) for row in ran]
    for row, info in zip(ran, infos):
        assert row["run_id"] == info["run_id"] and row["overrides"] == " ".join(info["overrides"])
        assert row["status"] == info["status"]
    assert len({row["run_id"] for row in ran}) == len(ran)
    assert csv_rows(sweep_dir) == [as_csv_cells(row) for row in rows]
    return infos


def test_grid_multirun_writes_one_completed_row_per_job_with_its_run_id_overrides_and_metric(output_dir):
    result = run_subprocess("train", "-m", "model.lr=1e-4,2e-4", "seed=1,2", "optimized_metric=val/d_loss",
                            *TINY_NO_FID)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep_dir = sweep_dir_of(output_dir)
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir()) == ["0", "1", "2", "3"]
    rows = read_summary(sweep_dir)
    assert [row["job_num"] for row in rows] == [0, 1, 2, 3]
    infos = assert_rows_describe_their_run_dirs(sweep_dir, rows)
    assert all(row["status"] == "completed" and row["error"] is None and row["wall_time_s"] > 0 for row in rows)
    assert sorted((float(o["model.lr"]), int(o["seed"])) for o in map(overrides_of, rows)) == [
        (1e-4, 1), (1e-4, 2), (2e-4, 1), (2e-4, 2)]
    assert {row["optimized_metric"] for row in rows} == {"val/d_loss"}
    assert [row["metric_value"] for row in rows] == [info["final_metrics"]["val/d_loss"] for info in infos]


def test_joblib_launcher_runs_two_jobs_in_separate_processes_and_both_rows_land(output_dir):
    result = run_subprocess("train", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "seed=1,2", *TINY_NO_FID)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep_dir = sweep_dir_of(output_dir)
    rows = read_summary(sweep_dir)
    assert [(row["job_num"], row["status"]) for row in rows] == [(0, "completed"), (1, "completed")]
    infos = assert_rows_describe_their_run_dirs(sweep_dir, rows)
    assert len({info["pid"] for info in infos}) == 2


def test_a_failing_job_gets_a_failed_row_with_its_one_line_error_while_the_others_complete(output_dir):
    result = run_subprocess("train", "-m", "model.n_critic=0,1", *TINY_NO_FID)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith("error: model.n_critic must be an integer >= 1, got 0")
    sweep_dir = sweep_dir_of(output_dir)
    rejected, completed = read_summary(sweep_dir)
    assert [(row["status"], row["error"]) for row in (rejected, completed)] == [
        ("failed", "model.n_critic must be an integer >= 1, got 0"), ("completed", None)]
    assert [overrides_of(row)["model.n_critic"] for row in (rejected, completed)] == ["0", "1"]
    assert rejected["run_id"] is None  # refused before its run began
    assert_rows_describe_their_run_dirs(sweep_dir, [rejected, completed])


def test_optuna_search_records_a_failed_trial_writes_the_best_completed_value_and_exits_non_zero(output_dir):
    # n_critic follows the job number, so trial 0 (n_critic=0) fails at job time whatever the sampler draws.
    result = run_subprocess("train", "-m", "hparams_search=dcgan_fid", "hydra.sweeper.n_trials=2",
                            "model.n_critic=${hydra:job.num}", *TINY)
    sweep_dir = sweep_dir_of(output_dir)
    assert result.returncode == 2, result.stderr[-3000:]  # the other trial ran, but the command says one failed
    assert result.stderr.strip().splitlines()[-1].endswith(
        f"error: 1 of 2 trials failed (trials 0; errors in {sweep_dir / SUMMARY_CSV})")
    failed, completed = read_summary(sweep_dir)
    assert failed["run_id"] is None  # refused before its run began
    assert_rows_describe_their_run_dirs(sweep_dir, [failed, completed])
    assert (failed["status"], failed["error"]) == ("failed", "model.n_critic must be an integer >= 1, got 0")
    assert failed["metric_value"] is None
    assert completed["status"] == "completed" and completed["optimized_metric"] == "val/fid"
    assert completed["metric_value"] == read_run_info(Path(completed["run_dir"]))["final_metrics"]["val/fid"] > 0
    results = OmegaConf.load(sweep_dir / "optimization_results.yaml")
    assert results.best_value == completed["metric_value"]
    assert {key: str(value) for key, value in results.best_params.items()} == {
        key: value for key, value in overrides_of(completed).items() if key in results.best_params}
    assert set(results.best_params) == {"model.lr", "model.lr_d", "model.ema_decay", "data.batch_size"}


@pytest.mark.parametrize("search", sorted(SEARCH_EXPERIMENT))
def test_hparams_search_configs_select_optuna_and_search_keys_their_experiment_has(run_cli, search):
    result = run_cli("train", f"hparams_search={search}", *SEARCH_EXPERIMENT[search], "--cfg", "all")
    assert result.exit_code == 0, result.stderr
    cfg = yaml.safe_load(result.stdout)
    sweeper = cfg["hydra"]["sweeper"]
    assert sweeper["_target_"] == "hydra_plugins.genlab_sweeper.genlab_sweeper.GenlabOptunaSweeper"
    assert sweeper["sampler"]["seed"] is not None
    assert sweeper["direction"] == "minimize" and sweeper["storage"] is None and sweeper["n_jobs"] == 1
    assert cfg["optimized_metric"] == {"dcgan_fid": "val/fid", "gpt_loss": "val/loss"}[search]
    for key in sweeper["params"]:
        group, name = key.split(".")
        assert name in cfg[group], f"{search} searches {key}, which the config lacks"


def record_jobs(sweep_dir: Path, job_nums: list[int]) -> None:
    for num in job_nums:
        record_job(sweep_dir, {"job_num": num, "status": "completed", "run_id": f"run{num}"})


def test_concurrent_writers_keep_every_row_and_a_rerun_job_replaces_its_own_row(tmp_path):
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(record_jobs, [tmp_path, tmp_path], [list(range(0, 60, 2)), list(range(1, 60, 2))]))
    rows = read_summary(tmp_path)
    assert [row["job_num"] for row in rows] == list(range(60))
    record_job(tmp_path, {"job_num": 3, "status": "failed", "error": "boom", "unknown_column": 1})
    rows = read_summary(tmp_path)
    assert len(rows) == 60 and set(rows[3]) == set(SUMMARY_COLUMNS)
    assert (rows[3]["status"], rows[3]["error"], rows[3]["run_id"]) == ("failed", "boom", None)
    assert csv_rows(tmp_path) == [as_csv_cells(row) for row in rows]
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def job_config(sweep_dir: Path, mode: RunMode):
    hydra = {"mode": mode, "sweep": {"dir": str(sweep_dir)}, "runtime": {"output_dir": str(sweep_dir / "0")},
             "job": {"num": 0}}
    return OmegaConf.create({"optimized_metric": "val/fid", "hydra": hydra})


def test_single_runs_and_non_zero_ranks_write_no_summary(tmp_path, monkeypatch):
    job_return = JobReturn(overrides=["seed=1"], status=JobStatus.COMPLETED, _return_value=1.0)
    MultirunSummary().on_job_end(job_config(tmp_path, RunMode.RUN), job_return)
    monkeypatch.setenv("RANK", "1")
    MultirunSummary().on_multirun_start(job_config(tmp_path, RunMode.MULTIRUN))
    MultirunSummary().on_job_end(job_config(tmp_path, RunMode.MULTIRUN), job_return)
    assert list(tmp_path.iterdir()) == []


def test_multirun_start_writes_an_empty_summary_but_keeps_rows_of_an_earlier_sweep_into_the_same_dir(tmp_path):
    MultirunSummary().on_multirun_start(job_config(tmp_path, RunMode.MULTIRUN))
    assert read_summary(tmp_path) == [] and csv_rows(tmp_path) == []
    record_jobs(tmp_path, [0])
    MultirunSummary().on_multirun_start(job_config(tmp_path, RunMode.MULTIRUN))
    assert [row["job_num"] for row in read_summary(tmp_path)] == [0]


def test_a_job_rejected_before_its_run_started_is_failed_with_its_one_line_error_and_no_run_id(tmp_path):
    error = ConfigError("model.lr must be a positive number, got -1.0")
    callback = MultirunSummary()
    callback.on_job_start(job_config(tmp_path, RunMode.MULTIRUN))
    callback.on_job_end(job_config(tmp_path, RunMode.MULTIRUN),
                        JobReturn(overrides=["model.lr=-1.0"], status=JobStatus.FAILED, _return_value=error))
    (row,) = read_summary(tmp_path)
    assert row["status"] == "failed" and row["error"] == "model.lr must be a positive number, got -1.0"
    assert row["run_id"] is None and row["metric_value"] is None and row["overrides"] == "model.lr=-1.0"
    assert (tmp_path / SUMMARY_JSON).is_file() and row["run_dir"] == str(tmp_path / "0")


def test_multirun_with_the_default_task_name_sweeps_under_model_and_data_names(output_dir):
    result = run_subprocess("train", "-m", "seed=1,2", "trainer.max_steps=1", "trainer.limit_val_batches=1",
                            "test=false", "metrics=none", "callbacks.rich_progress_bar=null")
    assert result.returncode == 0, result.stderr[-3000:]
    sweep_dir = sweep_dir_of(output_dir, "dcgan_digits")
    assert [row["status"] for row in read_summary(sweep_dir)] == ["completed", "completed"]
    assert {read_run_info(sweep_dir / job)["task_name"] for job in ("0", "1")} == {"dcgan_digits"}


def test_a_job_killed_before_writing_its_row_gets_a_dead_row_from_its_run_info(tmp_path):
    record_jobs(tmp_path, [0])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "run_info.json").write_text(json.dumps(
        {"run_id": "killed", "status": "running", "pid": gone.pid, "host": socket.gethostname(),
         "heartbeat": "2026-01-01T00:00:00+00:00", "overrides": ["seed=2"]}))
    record_unrecorded_jobs(tmp_path)
    rows = read_summary(tmp_path)
    assert [(row["job_num"], row["status"]) for row in rows] == [(0, "completed"), (1, "dead")]
    assert rows[1]["run_id"] == "killed" and rows[1]["overrides"] == "seed=2"
    assert rows[1]["error"] == f"process gone: pid {gone.pid} no longer runs on {socket.gethostname()}"
