"""Specification of the dashboards, checked as a person would: a real TensorBoard serving a 3-job sweep, and the
wandb offline runs of that sweep read back with wandb's own tools, with nothing sent to the network."""
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import FAST, is_wandb_run_dir_of, read_run_info, run_dirs, run_subprocess
from helpers.wandb_records import run_record, wandb_env, wandb_records

TINY = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1", "trainer.log_every_n_steps=1", "callbacks.rich_progress_bar=null",
        "metrics.feature_net=null"]
SEEDS = (1, 2, 3)
BIN = Path(sys.executable).parent


class ConnectionCounter:
    """A loopback port that accepts and counts connections: where wandb would send anything it uploads."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self):
        while not self.stopped.is_set():
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self):
        self.stopped.set()
        self.thread.join()
        self.server.close()





@pytest.fixture(scope="module")
def many_sweep(tmp_path_factory, cache_dir):
    """`genlab-train -m logger=many seed=1,2,3`, with no WANDB_MODE set: (sweep dir, stderr, connections to wandb)."""
    tmp = tmp_path_factory.mktemp("many_sweep")
    counter = ConnectionCounter()
    env = {"GENLAB_OUTPUT_DIR": str(tmp / "outputs"), "GENLAB_CACHE_DIR": str(cache_dir),
           **wandb_env(tmp, f"http://127.0.0.1:{counter.port}")}
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("WANDB_MODE", raising=False)
        result = run_subprocess("train", "-m", "logger=many", f"seed={','.join(map(str, SEEDS))}", *TINY, env=env)
    time.sleep(0.5)
    counter.close()
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep_dir,) = (tmp / "outputs" / "dcgan_digits" / "multiruns").iterdir()
    return sweep_dir, result.stderr, counter.connections


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def tensorboard_server(many_sweep):
    """The real `tensorboard` serving the sweep dir on loopback; its base URL, once it lists all three runs."""
    sweep_dir, _, _ = many_sweep
    port = free_port()
    server = subprocess.Popen([str(BIN / "tensorboard"), "--logdir", str(sweep_dir), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                tags = get_json(f"{base}/data/plugin/scalars/tags")
                if len(tags) == len(SEEDS) and all("test/d_loss" in run_tags for run_tags in tags.values()):
                    break
            except OSError:
                pass
            time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_tensorboard_serves_each_sweep_job_as_a_run_with_its_scalars_images_and_hparams(tensorboard_server):
    runs = [f"{job}/tensorboard" for job in range(len(SEEDS))]
    assert sorted(get_json(f"{tensorboard_server}/data/runs")) == runs
    scalar_tags = get_json(f"{tensorboard_server}/data/plugin/scalars/tags")
    assert sorted(scalar_tags) == runs
    for run in runs:
        assert {"train/g_loss", "train/d_loss", "val/d_loss", "test/d_loss", "epoch"} <= set(scalar_tags[run])
    image_tags = get_json(f"{tensorboard_server}/data/plugin/images/tags")
    assert all("samples" in image_tags[run] for run in runs)

    # HPARAMS tab: one session per run, the config as hparams, the final metrics as its metric values
    experiment = get_json(f"{tensorboard_server}/data/plugin/hparams/experiment", {"experimentName": ""})
    assert {"seed", "run_id", "model/lr", "data/batch_size"} <= {info["name"] for info in experiment["hparamInfos"]}
    assert {"val/d_loss", "test/d_loss"} <= {info["name"]["tag"] for info in experiment["metricInfos"]}
    groups = get_json(f"{tensorboard_server}/data/plugin/hparams/session_groups", {
        "experimentName": "", "startIndex": 0, "sliceSize": 10,
        "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
        "colParams": [{"hparam": "seed", "includeInResult": True}, {"hparam": "run_id", "includeInResult": True},
                      {"metric": {"tag": "test/d_loss", "group": ""}, "includeInResult": True}]})["sessionGroups"]
    assert sorted((group["name"], group["hparams"]["seed"]) for group in groups) == list(zip(runs, SEEDS))
    assert len({group["hparams"]["run_id"] for group in groups}) == len(SEEDS)
    for group in groups:
        (test_loss,) = [m["value"] for m in group["metricValues"] if m["name"]["tag"] == "test/d_loss"]
        assert test_loss > 0


def offline_run_dir(job_dir: Path) -> Path:
    (run_dir,) = (job_dir / "wandb").glob("offline-run-*")
    return run_dir





def test_wandb_offline_runs_hold_config_metric_history_and_images_under_one_sweep_group(many_sweep):
    sweep_dir, _, _ = many_sweep
    groups = set()
    for job, seed in enumerate(SEEDS):
        job_dir = sweep_dir / str(job)
        run_dir = offline_run_dir(job_dir)
        records = wandb_records(run_dir)
        (run,) = [record["run"] for record in records if record["type"] == "run"]
        run_id = read_run_info(job_dir)["run_id"]
        assert run["run_id"] == run_id and is_wandb_run_dir_of(run_dir, run_id)
        assert run["project"] == "dcgan_digits" and run["job_type"] == "train" and run["tags"] == ["dev"]
        assert f"seed={seed}" in run["display_name"].split(",")
        groups.add(run["run_group"])
        config = run["config"]["update"]
        assert config["seed"] == seed and config["run_id"] == run_id
        assert config["paths"]["run_dir"] == str(job_dir) and config["model"]["_target_"].startswith("genlab.")

        history = [record["history"]["item"] for record in records if record["type"] == "history"]
        g_losses = [item["train/g_loss"] for item in history if "train/g_loss" in item]
        assert len(g_losses) == 2 and all(isinstance(value, float) for value in g_losses)
        assert any("test/d_loss" in item for item in history)
        (image,) = [item for item in history if "samples._type" in item]
        assert image["samples._type"] == "images/separated" and image["samples.width"] > 64
        assert all((run_dir / "files" / name).is_file() for name in image["samples.filenames"])
        (exit_record,) = [record["exit"] for record in records if record["type"] == "exit"]
        assert exit_record.get("exit_code", 0) == 0
    assert groups == {sweep_dir.name}


def test_wandb_never_reaches_the_network_and_each_job_says_how_to_sync(many_sweep):
    sweep_dir, stderr, connections = many_sweep
    assert connections == 0
    for log in sweep_dir.glob("*/wandb/offline-run-*/logs/debug-internal.log"):
        assert "http" not in log.read_text()  # wandb-core's own record of what it sent: nothing
    hints = [line for line in stderr.splitlines() if "upload with: wandb sync" in line]
    assert hints == [f"wandb: offline run saved in {offline_run_dir(sweep_dir / str(job))}; upload with: wandb sync "
                     f"{offline_run_dir(sweep_dir / str(job))}" for job in range(len(SEEDS))]
    for job in range(len(SEEDS)):
        summary = subprocess.run([str(BIN / "wandb"), "leet", "inspect", str(offline_run_dir(sweep_dir / str(job))),
                                  "--summary", "--json"], capture_output=True, text=True, timeout=60, check=True)
        assert json.loads(summary.stdout)["state"] == "finished"





@pytest.fixture
def offline_wandb(tmp_path, monkeypatch):
    """wandb's own dirs under tmp_path, no WANDB_MODE, and a key and server that must stay unused."""
    monkeypatch.delenv("WANDB_MODE", raising=False)
    for name, value in wandb_env(tmp_path, "http://127.0.0.1:9").items():
        monkeypatch.setenv(name, value)


def test_a_resumed_run_goes_on_in_the_same_wandb_run_keeping_its_name(run_cli, output_dir, offline_wandb):
    args = ["logger=wandb", *FAST, "test=false", "metrics.feature_net=null"]
    assert run_cli("train", "seed=7", *args).exit_code == 0
    (job_dir,) = run_dirs(output_dir)
    resumed = run_cli("train", *args, f"resume={job_dir}", "trainer.max_epochs=3")
    assert resumed.exit_code == 0, resumed.stderr
    first, second = sorted((job_dir / "wandb").glob("offline-run-*"))
    run_id = read_run_info(job_dir)["run_id"]
    assert is_wandb_run_dir_of(first, run_id) and is_wandb_run_dir_of(second, run_id)
    assert run_record(first)["run_id"] == run_record(second)["run_id"] == run_id
    assert "seed=7" in run_record(first)["display_name"].split(",")
    assert not run_record(second).get("display_name")  # wandb sync keeps the name the run started with
    assert run_record(second)["resume"] is True
    assert f"upload with: wandb sync {second}" in resumed.stderr


def test_text_samples_become_a_tensorboard_text_and_a_wandb_table(tmp_path, offline_wandb, capsys, monkeypatch):
    from hydra.core.hydra_config import HydraConfig
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from genlab.loggers.media import log_text
    from genlab.loggers.tensorboard_run import TensorBoardRun
    from genlab.loggers.wandb_run import WandbRun

    monkeypatch.setattr(HydraConfig.instance(), "cfg", None)  # outside a Hydra app, whatever ran in-process before
    tensorboard = TensorBoardRun(save_dir=str(tmp_path / "tensorboard"))
    wandb = WandbRun(save_dir=str(tmp_path), project="gpt_shakespeare", id="textrun1")
    log_text([tensorboard, wandb], "samples", ["ROMEO:\nO", "JULIET:\nAy"], step=5)
    tensorboard.finish_run()
    wandb.finish_run()

    events = EventAccumulator(str(tmp_path / "tensorboard")).Reload()
    (text_event,) = events.Tensors("samples/text_summary")
    text = text_event.tensor_proto.string_val[0].decode()
    assert text_event.step == 5 and "ROMEO:\nO" in text and "JULIET:\nAy" in text

    (run_dir,) = (tmp_path / "wandb").glob("offline-run-*")
    (table,) = [r["history"]["item"] for r in wandb_records(run_dir) if r["type"] == "history"]
    assert table["samples._type"] == "table-file" and table["trainer/global_step"] == 5
    contents = json.loads((run_dir / "files" / table["samples.path"]).read_text())
    assert contents["columns"] == ["sample"] and contents["data"] == [["ROMEO:\nO"], ["JULIET:\nAy"]]
    assert run_record(run_dir)["display_name"] == "textrun1"  # no overrides outside a Hydra app: the run id
    assert f"upload with: wandb sync {run_dir}" in capsys.readouterr().err


def test_disabled_wandb_writes_nothing_and_prints_no_sync_hint(tmp_path, offline_wandb, capsys):
    from genlab.loggers.wandb_run import WandbRun

    wandb = WandbRun(save_dir=str(tmp_path), project="p", id="off1", mode="disabled")
    wandb.log_metrics({"train/loss": 1.0}, step=1)
    wandb.finish_run()
    assert not (tmp_path / "wandb").exists()
    assert "wandb sync" not in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["onlin", "dryrun"])
def test_a_bad_wandb_mode_fails_in_one_line_naming_the_key(run_cli, output_dir, mode):
    result = run_cli("train", "logger=many", f"logger.wandb.mode={mode}")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"genlab-train: error: logger.wandb.mode must be one of offline, online, disabled, got '{mode}'"]
    assert not output_dir.exists() or not list(output_dir.rglob("run_info.json"))


def test_run_names_come_from_the_overrides_that_say_what_is_trained():
    from genlab.loggers.run_naming import run_name

    overrides = ["model.lr=0.0002", "paths.data_dir=/data", "trainer.limit_train_batches=4", "+callbacks.x=null",
                 "logger=many", "hydra/launcher=joblib", "seed=2", "trainer.max_epochs=5"]
    assert run_name(overrides, fallback="ab12cd34") == "model.lr=0.0002,seed=2,trainer.max_epochs=5"
    assert run_name(["paths.output_dir=/o", "logger=wandb"], fallback="ab12cd34") == "ab12cd34"
    assert run_name(["resume=outputs/x/runs/y", "trainer.max_epochs=9"], fallback="ab12cd34") is None
    long_name = run_name([f"model.width_{index}=123456" for index in range(10)], fallback="ab12cd34")
    assert len(long_name) == 64 and long_name.endswith("…")
