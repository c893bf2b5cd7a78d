"""Specification of a run's identity across resumes: the same run_id, run dir, wandb run, TensorBoard run and MLflow
run; and of checkpoints whose stored config no longer fits the current code, refused in one line naming the key."""
import csv
import shutil
from pathlib import Path

import pytest
import torch
from conftest import FAST, is_wandb_run_dir_of, read_run_info, run_dirs
from helpers.wandb_records import run_record, wandb_env, wandb_records

from genlab.config.stored import check_stored_targets
from genlab.errors import CheckpointError

LOGGED = ["test=false", "metrics.feature_net=null"]


@pytest.fixture
def offline_dashboards(tmp_path, monkeypatch):
    """wandb offline with its own dirs under tmp_path (and a key and server that must stay unused); MLflow's file
    store allowed only while the test runs (genlab sets the variable for it)."""
    monkeypatch.delenv("WANDB_MODE", raising=False)
    for name, value in wandb_env(tmp_path, "http://127.0.0.1:9").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def event_files(job_dir: Path) -> set[Path]:
    return set(job_dir.rglob("events.out.tfevents.*"))


def tensorboard_events(job_dir: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    return EventAccumulator(str(job_dir / "tensorboard")).Reload()


def mlflow_runs(output_dir: Path):
    """The MLflow client on the runs' shared file store, and every run of the task's experiment."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"file:{output_dir / 'mlruns'}")
    experiment = client.get_experiment_by_name("dcgan_digits")
    return client, client.search_runs([experiment.experiment_id])


def csv_losses(job_dir: Path) -> dict[int, float]:
    rows = csv.DictReader((job_dir / "metrics.csv").read_text().splitlines())
    return {int(row["step"]): float(row["train/g_loss"]) for row in rows if row.get("train/g_loss")}


def interrupted(job_dir: Path) -> None:
    """Mark a finished run as stopped by a signal (checkpoint saved), as a sweep resume would find a killed job."""
    info_file = job_dir / "run_info.json"
    info_file.write_text(info_file.read_text().replace('"status": "completed"', '"status": "interrupted"'))


@pytest.mark.parametrize("launch", ["single", "sweep_job", "resumed_sweep"])
def test_a_resumed_run_goes_on_in_the_same_run_dir_wandb_tensorboard_and_mlflow_runs(run_cli, output_dir,
                                                                                    offline_dashboards, launch):
    """`single`: resume=<run_dir>; `sweep_job`: resume=<job dir of a multirun>; `resumed_sweep`: -m resume=<multirun
    dir>, which continues the sweep's interrupted job in its own dir."""
    pytest.importorskip("mlflow")
    args = ["logger=[tensorboard,wandb,mlflow]", *FAST, *LOGGED]
    started = run_cli("train", *(["-m"] if "sweep" in launch else []), *args)
    assert started.exit_code == 0, started.stderr
    if "sweep" in launch:
        (sweep_dir,) = (output_dir / "dcgan_digits" / "multiruns").iterdir()
        job_dir, group = sweep_dir / "0", sweep_dir.name
    else:
        (job_dir,), group = run_dirs(output_dir), None
    run_id = read_run_info(job_dir)["run_id"]
    (first_wandb,) = (job_dir / "wandb").glob("offline-run-*")
    first_events = event_files(job_dir)
    _, (mlflow_run,) = mlflow_runs(output_dir)

    if launch == "resumed_sweep":
        interrupted(job_dir)
        resumed = run_cli("train", "-m", f"resume={sweep_dir}", "trainer.max_epochs=3")
    else:
        resumed = run_cli("train", *args, f"resume={job_dir}", "trainer.max_epochs=3")
    assert resumed.exit_code == 0, resumed.stderr

    # the same run: its dir (no other run appeared anywhere), its run_id, one more session
    assert sorted(output_dir.rglob("run_info.json")) == [job_dir / "run_info.json"]
    info = read_run_info(job_dir)
    assert info["run_id"] == run_id and info["status"] == "completed" and len(info["resumed_times"]) == 1
    assert sorted(csv_losses(job_dir)) == list(range(12))

    # wandb: a second offline dir of the same run id, marked as a resume (`wandb sync` of it resumes the run)
    wandb_dirs = sorted((job_dir / "wandb").glob("offline-run-*"))
    assert len(wandb_dirs) == 2 and wandb_dirs[0] == first_wandb
    assert all(is_wandb_run_dir_of(path, run_id) for path in wandb_dirs)
    runs = [run_record(path) for path in wandb_dirs]
    assert [run["run_id"] for run in runs] == [run_id, run_id] and all(run["resume"] for run in runs)
    assert [run.get("run_group") or None for run in runs] == [group, group]
    resumed_steps = [record["history"]["item"]["trainer/global_step"] for record in wandb_records(wandb_dirs[1])
                     if record["type"] == "history" and "train/g_loss" in record["history"]["item"]]
    assert resumed_steps == [8, 9, 10, 11]
    assert f"upload with: wandb sync {wandb_dirs[1]}" in resumed.stderr

    # TensorBoard: one run dir, the first session's event files kept, the new ones beside them, steps going on
    events = event_files(job_dir)
    assert {path.parent for path in events} == {job_dir / "tensorboard"} and first_events < events
    scalars = tensorboard_events(job_dir)
    assert [event.step for event in scalars.Scalars("train/g_loss")] == list(range(12))
    assert [event.step for event in scalars.Images("samples")] == [4, 8, 12]

    # MLflow: still one run, finished again, its metric history going on; params stay write-once
    client, (run,) = mlflow_runs(output_dir)
    assert run.info.run_id == mlflow_run.info.run_id and run.info.status == "FINISHED"
    assert run.info.run_name == mlflow_run.info.run_name and run.data.tags["genlab.run_id"] == run_id
    assert run.data.tags.get("genlab.sweep") == group
    history = client.get_metric_history(run.info.run_id, "train/g_loss")
    assert sorted(point.step for point in history) == list(range(12))
    assert run.data.params["trainer/max_epochs"] == "2" and run.data.tags["trainer/max_epochs"] == "3"
    assert len(client.list_artifacts(run.info.run_id, "samples")) == 3


def test_tensorboard_drops_the_steps_logged_after_the_checkpoint_a_run_resumes_from(run_cli, output_dir):
    """A run killed after logging steps its last checkpoint does not hold logs them again when resumed: TensorBoard,
    like metrics.csv, shows each step once, with the resumed run's values."""
    args = ["logger=tensorboard", *FAST, *LOGGED]
    assert run_cli("train", *args, "trainer.max_epochs=1").exit_code == 0
    (job_dir,) = run_dirs(output_dir)
    last = job_dir / "checkpoints" / "last.ckpt"
    shutil.copy(last, job_dir / "epoch1.ckpt.bak")
    assert run_cli("train", *args, f"resume={job_dir}").exit_code == 0
    shutil.copy(job_dir / "epoch1.ckpt.bak", last)  # as if killed after logging epoch 2, before checkpointing it
    assert run_cli("train", *args, f"resume={job_dir}").exit_code == 0

    losses = csv_losses(job_dir)
    assert sorted(losses) == list(range(8))
    events = tensorboard_events(job_dir)
    points = events.Scalars("train/g_loss")
    assert [point.step for point in points] == list(range(8))
    assert [point.value for point in points] == pytest.approx([losses[step] for step in range(8)])
    assert [image.step for image in events.Images("samples")] == [4, 8]  # epoch 1's grid kept, epoch 2's redrawn


def stale_copy(checkpoint: Path, destination: Path, edit) -> Path:
    """`checkpoint` with its stored config edited by `edit`, as an older genlab might have written it."""
    contents = torch.load(checkpoint, weights_only=True)
    edit(contents["genlab"]["config"])
    torch.save(contents, destination)
    return destination


def rename(group: str, old: str, new: str):
    def edit(config: dict) -> None:
        config[group][new] = config[group].pop(old)

    return edit


def set_key(group: str, key: str, value):
    def edit(config: dict) -> None:
        config[group][key] = value

    return edit


STALE_CASES = {
    "model_key_renamed": (rename("model", "latent_dim", "z_dim"), (
        "stored config key model.z_dim is not a parameter of DCGAN any more (renamed or removed since the checkpoint "
        "was written); DCGAN parameters it does not set: latent_dim")),
    "model_key_removed": (set_key("model", "old_flag", True), (
        "stored config key model.old_flag is not a parameter of DCGAN any more (renamed or removed since the "
        "checkpoint was written)")),
    "data_key_removed": (set_key("data", "augment", "flip"), (
        "stored config key data.augment is not a parameter of DigitsDataModule any more (renamed or removed since the "
        "checkpoint was written)")),
    "metrics_key_removed": (set_key("metrics", "fid_every", 2), (
        "stored config key metrics.fid_every is not in the current metrics config (renamed or removed since the "
        "checkpoint was written)")),
    "model_class_moved": (set_key("model", "_target_", "genlab.models.dcgan_v0.DCGAN"), (
        "stored config model._target_=genlab.models.dcgan_v0.DCGAN cannot be imported (No module named "
        "'genlab.models.dcgan_v0'): renamed or removed since the checkpoint was written, or its module is not on the "
        "path")),
}


@pytest.mark.parametrize("command", ["eval", "sample"])
@pytest.mark.parametrize("case", sorted(STALE_CASES))
def test_a_checkpoint_whose_stored_config_no_longer_fits_the_code_fails_in_one_line_naming_the_key(
        run_cli, output_dir, trained_run, tmp_path, command, case):
    edit, message = STALE_CASES[case]
    checkpoint = stale_copy(trained_run / "checkpoints" / "last.ckpt", tmp_path / "stale.ckpt", edit)
    result = run_cli(command, f"ckpt_path={checkpoint}")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"genlab-{command}: error: {checkpoint}: {message}"]
    assert not [path for path in output_dir.rglob("*") if path.is_file()]


def test_what_the_command_line_sets_is_not_held_against_the_checkpoint(run_cli, trained_run, tmp_path):
    """`model=dcgan` replaces the stored model config with the current one: the stale key is gone, sampling works."""
    edit = set_key("model", "old_flag", True)
    checkpoint = stale_copy(trained_run / "checkpoints" / "last.ckpt", tmp_path / "stale.ckpt", edit)
    result = run_cli("sample", f"ckpt_path={checkpoint}", "model=dcgan", "num_samples=4")
    assert result.exit_code == 0, result.stderr


class NeedsWidth:
    """A class whose constructor gained a required parameter after a checkpoint was written."""

    def __init__(self, width: int, depth: int = 2):
        self.width, self.depth = width, depth


def test_a_stored_config_lacking_a_now_required_parameter_names_it():
    stored = {"_target_": f"{__name__}.NeedsWidth", "depth": 3}
    with pytest.raises(CheckpointError) as error:
        check_stored_targets(stored, "model", "old.ckpt")
    assert str(error.value) == ("old.ckpt: stored config has no model.width, which NeedsWidth now requires (added "
                                "since the checkpoint was written): give it with +model.width=...")
    check_stored_targets({**stored, "width": 8}, "model", "old.ckpt")


def renamed_in_files(paths, old: str, new: str) -> None:
    for path in paths:
        path.write_text(path.read_text().replace(f"model.{old}=", f"model.{new}=").replace(f"{old}: ", f"{new}: "))


@pytest.mark.parametrize("kind", ["run", "sweep"])
def test_resuming_with_an_override_whose_key_was_renamed_since_is_one_line_and_leaves_the_run_untouched(
        run_cli, output_dir, kind):
    """The run (or sweep) was started by an older genlab whose DCGAN called latent_dim z_dim: its recorded overrides,
    configs and checkpoint say z_dim. Resuming it names the override and where it is recorded, and writes nothing."""
    args = [*FAST, *LOGGED, "trainer.max_epochs=1"]
    assert run_cli("train", *(["-m"] if kind == "sweep" else []), "model.latent_dim=32", *args).exit_code == 0
    if kind == "sweep":
        (resumed,) = (output_dir / "dcgan_digits" / "multiruns").iterdir()
        job_dir, record, command = resumed / "0", resumed / "multirun.yaml", ["-m", f"resume={resumed}"]
    else:
        (job_dir,) = run_dirs(output_dir)
        resumed, record, command = job_dir, job_dir / "run_info.json", ["model.z_dim=32", *args, f"resume={job_dir}"]
    renamed_in_files({record, job_dir / "run_info.json", *(job_dir / ".hydra").glob("*.yaml")}, "latent_dim", "z_dim")
    last = job_dir / "checkpoints" / "last.ckpt"
    stale_copy(last, last, rename("model", "latent_dim", "z_dim"))
    before = {path: path.read_bytes() for path in output_dir.rglob("*") if path.is_file()}

    result = run_cli("train", *command, "trainer.max_epochs=2")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [(
        f"genlab-train: error: resume={resumed}: the {kind}'s override model.z_dim=32 (in its {record.name}) sets "
        f"config key model.z_dim, which the current config does not have (renamed or removed since the {kind} "
        "started); give the key's current name")]
    assert {path: path.read_bytes() for path in output_dir.rglob("*") if path.is_file()} == before
