"""Specification of `logger=mlflow` (the optional extra genlab[mlflow]): a local file store under outputs/mlruns
read back with MLflow's own client, and a one-line install hint where MLflow is missing."""
import importlib.util

import pytest
from conftest import FAST, read_run_info, run_dirs


def test_mlflow_run_holds_flat_params_metric_history_and_sample_grids_in_the_local_file_store(run_cli, output_dir,
                                                                                               monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")  # genlab sets it for its file store; restored after the test
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = run_cli("train", "logger=mlflow", "model.lr=0.0003", *FAST, "metrics.feature_net=null", "test=false")
    assert result.exit_code == 0, result.stderr
    (run_dir,) = run_dirs(output_dir)

    client = MlflowClient(f"file:{output_dir / 'mlruns'}")
    experiment = client.get_experiment_by_name("dcgan_digits")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "model.lr=0.0003,trainer.max_epochs=2,test=false"
    assert run.data.tags["genlab.run_id"] == read_run_info(run_dir)["run_id"] and run.data.tags["dev"] == "true"
    params = run.data.params
    assert params["model/lr"] == "0.0003" and params["seed"] == "12345" and params["paths/run_dir"] == str(run_dir)
    assert not any(key.endswith("_target_") for key in params)
    history = client.get_metric_history(run.info.run_id, "train/g_loss")
    assert len(history) == 8 and sorted(point.step for point in history) == [point.step for point in history]
    assert "val/d_loss" in run.data.metrics
    grids = [artifact.path for artifact in client.list_artifacts(run.info.run_id, "samples")]
    assert len(grids) == 2 and all(path.startswith("samples/step_") and path.endswith(".png") for path in grids)


def test_a_param_logged_again_with_a_new_value_lands_in_a_tag_as_mlflow_params_are_write_once(tmp_path,
                                                                                                 monkeypatch):
    pytest.importorskip("mlflow")
    from genlab.loggers.mlflow_run import MLflowRun

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    logger = MLflowRun(experiment_name="dcgan_digits", tracking_uri=f"file:{tmp_path / 'mlruns'}",
                       run_dir=str(tmp_path / "run"), genlab_run_id="ab12cd34")
    logger.log_run_config({"metrics": {"feature_net": "classifier", "num_samples": 200}, "tags": ["dev"]})
    logger.log_hyperparams({"metrics/feature_net": "lenet-digits-f6e00e", "metrics/num_samples": 200})
    run = logger.experiment.get_run(logger.run_id)
    assert run.data.params == {"metrics/feature_net": "classifier", "metrics/num_samples": "200", "tags": "['dev']"}
    assert run.data.tags["metrics/feature_net"] == "lenet-digits-f6e00e" and run.info.run_name == "ab12cd34"


def test_logger_mlflow_without_mlflow_installed_fails_in_one_line_saying_how_to_install(run_cli, output_dir,
                                                                                         monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None if name == "mlflow" else find_spec(name, *args))
    result = run_cli("train", "logger=mlflow")
    assert result.exit_code == 2
    message = "logger=mlflow needs the optional extra: pip install 'genlab[mlflow]' (MLflow is not installed)"
    assert result.stderr.strip().splitlines() == [f"genlab-train: error: {message}"]
