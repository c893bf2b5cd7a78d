"""Hostile files and runs at risk, through the real CLI: a checkpoint's stored config builds only trusted classes, a
run dir has one process at a time, a refused resume leaves the run byte for byte, a run killed during its first save
or stopped by a full disk resumes, and each bad input ends in one line (exit 2)."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap
import time

import pytest
import torch

import genlab
from conftest import FAST, REPO, eval_reports, read_run_info, run_dirs
from genlab.errors import CheckpointError
from helpers.text_runs import TEXT, lm_args

UNTRUSTED = ("{path}: stored config {key}={target} is not a genlab model, data or network class, nor a class in a "
             "GENLAB_CONFIG_PATH directory; refusing to build it")


def files_of(directory: pathlib.Path) -> dict[str, bytes]:
    """Every file below `directory` (relative path → bytes)."""
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file()}


def without(args: list[str], *keys: str) -> list[str]:
    """`args` less the overrides of `keys` (a group name drops its choice and its keys)."""
    return [arg for arg in args if not any(arg.startswith((f"{key}=", f"{key}.")) for key in keys)]


def last_stderr_line(result) -> str:
    return result.stderr.strip().splitlines()[-1]


@pytest.fixture
def run_copy(trained_run, tmp_path) -> pathlib.Path:
    """A private copy of the shared trained dcgan_digits run."""
    return pathlib.Path(shutil.copytree(trained_run, tmp_path / "run"))


def with_stored(source: pathlib.Path, destination: pathlib.Path, group: str, config: dict) -> pathlib.Path:
    """A copy of a genlab checkpoint whose stored `group` config is replaced (only plain data: it loads safely)."""
    checkpoint = torch.load(source, weights_only=True)
    checkpoint["genlab"]["config"][group] = config
    torch.save(checkpoint, destination)
    return destination


# ---- a checkpoint's stored config builds only trusted classes -------------------------------------------------------
def hostile_configs(victim: pathlib.Path, created: pathlib.Path, model: dict, data: dict) -> dict:
    return {
        "open_truncates": ("model", {"_target_": "builtins.open", "file": str(victim), "mode": "w"},
                           "model._target_", "builtins.open"),
        "copyfile_creates": ("model", {"_target_": "shutil.copyfile", "src": str(victim), "dst": str(created)},
                             "model._target_", "shutil.copyfile"),
        "genlab_function": ("data", {**data, "_target_": "genlab.runs.atomic.write_atomic"},
                            "data._target_", "genlab.runs.atomic.write_atomic"),
        "nested_target": ("model", {**model, "betas": {"_target_": "os.remove", "path": str(victim)}},
                          "model.betas._target_", "os.remove"),
    }


@pytest.mark.parametrize("case", ["open_truncates", "copyfile_creates", "genlab_function", "nested_target"])
@pytest.mark.parametrize("command", ["eval", "sample", "load", "resume"])
def test_a_stored_config_naming_anything_but_a_trusted_class_is_refused_before_anything_is_built(
        run_cli, run_copy, tmp_path, case, command):
    victim, created = tmp_path / "victim.txt", tmp_path / "created.txt"
    victim.write_text("precious\n")
    last = run_copy / "checkpoints" / "last.ckpt"
    stored = torch.load(last, weights_only=True)["genlab"]["config"]
    group, config, key, target = hostile_configs(victim, created, stored["model"], stored["data"])[case]
    evil = with_stored(last, last if command == "resume" else tmp_path / "evil.ckpt", group, config)
    before = files_of(run_copy)
    expected = UNTRUSTED.format(path=evil, key=key, target=target)
    if command == "load":
        with pytest.raises(CheckpointError, match=re.escape(expected)):
            genlab.load(evil)
    else:
        args = [f"resume={run_copy}", "trainer.max_epochs=3"] if command == "resume" else [f"ckpt_path={evil}"]
        result = run_cli("train" if command == "resume" else command, *args)
        assert result.exit_code == 2
        assert last_stderr_line(result) == f"genlab-{'train' if command == 'resume' else command}: error: {expected}"
    assert victim.read_text() == "precious\n" and not created.exists()
    assert files_of(run_copy) == before


def test_a_stored_metrics_target_is_never_built_the_current_metrics_class_measures(run_cli, run_copy):
    last = run_copy / "checkpoints" / "last.ckpt"
    stored = torch.load(last, weights_only=True)["genlab"]["config"]["metrics"]
    evil = with_stored(last, last.with_name("evil.ckpt"), "metrics", {**stored, "_target_": "builtins.exec"})
    earlier = eval_reports(run_copy)
    result = run_cli("eval", f"ckpt_path={evil}")
    assert result.exit_code == 0, result.stderr
    (evaluated,) = eval_reports(run_copy) - earlier
    assert json.loads(evaluated.read_text())["metrics"]["test/fid"] > 0


def test_a_sweeps_stored_override_naming_another_callable_is_refused_on_resume(run_cli, output_dir, tmp_path):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text(textwrap.dedent("""
        hydra:
          overrides:
            hydra: [hydra.mode=MULTIRUN]
            task: [model.lr=1e-4, model._target_=builtins.exec]
    """))
    before = files_of(sweep)
    result = run_cli("train", "-m", f"resume={sweep}")
    assert result.exit_code == 2
    assert last_stderr_line(result) == (
        f"genlab-train: error: resume={sweep}: the sweep's stored override model._target_=builtins.exec (in its "
        "multirun.yaml) names builtins.exec, which is not a genlab model, data or network class, nor a class in a "
        "GENLAB_CONFIG_PATH directory; refusing to run it")
    assert files_of(sweep) == before and not output_dir.exists()


def test_a_runs_stored_override_naming_another_callable_is_refused_on_resume(run_cli, run_copy):
    info_file = run_copy / "run_info.json"
    info = json.loads(info_file.read_text())
    info_file.write_text(json.dumps({**info, "overrides": ["model._target_=builtins.exec"]}))
    before = files_of(run_copy)
    result = run_cli("train", f"resume={run_copy}", "ckpt_path=last")
    assert result.exit_code == 2
    assert last_stderr_line(result) == (
        f"genlab-train: error: resume={run_copy}: the run's stored override model._target_=builtins.exec (in its "
        "run_info.json) names builtins.exec, which is not a genlab model, data or network class, nor a class in a "
        "GENLAB_CONFIG_PATH directory; refusing to run it")
    assert files_of(run_copy) == before
    info_file.write_text(json.dumps({**info, "overrides": "model.lr=1"}))
    result = run_cli("train", f"resume={run_copy}", "ckpt_path=last")
    assert result.exit_code == 2 and "run_info.json: overrides must be a list of strings" in last_stderr_line(result)


def test_a_stored_config_holding_an_interpolation_is_refused(run_cli, run_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_TEST_SECRET", "hunter2")
    last = run_copy / "checkpoints" / "last.ckpt"
    model = torch.load(last, weights_only=True)["genlab"]["config"]["model"]
    evil = with_stored(last, tmp_path / "evil.ckpt", "model", {**model, "lr": "${oc.env:GENLAB_TEST_SECRET}"})
    result = run_cli("sample", f"ckpt_path={evil}")
    assert result.exit_code == 2
    assert last_stderr_line(result) == (
        f"genlab-sample: error: {evil}: stored config key model.lr holds an interpolation "
        "('${oc.env:GENLAB_TEST_SECRET}'); a stored config is resolved and never needs one: refusing to use it")


def test_a_refused_pickle_names_what_it_would_import(run_cli, run_copy, tmp_path):
    class RunsACommand:
        def __reduce__(self):
            return os.system, ("true",)

    evil = tmp_path / "evil.ckpt"
    torch.save({"genlab": RunsACommand()}, evil)
    result = run_cli("eval", f"ckpt_path={evil}")
    assert result.exit_code == 2
    assert re.fullmatch(rf"genlab-eval: error: refusing to load {re.escape(str(evil))}: it would import (posix|os)\.system; "
                        "genlab loads only tensors and plain data", last_stderr_line(result)), result.stderr


# ---- one process per run dir -----------------------------------------------------------------------------------------
def test_a_run_id_given_twice_in_one_second_never_shares_a_run_dir(run_cli, output_dir, monkeypatch):
    import genlab.config.resolvers as resolvers

    class FrozenClock(resolvers.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 12, 6, 12, 0, 0)

    monkeypatch.setattr(resolvers, "datetime", FrozenClock)
    assert run_cli("train", *FAST, "run_id=same", "trainer.max_epochs=1").exit_code == 0
    (run_dir,) = run_dirs(output_dir)
    before = files_of(run_dir)
    result = run_cli("train", *FAST, "run_id=same")
    assert result.exit_code == 2
    assert last_stderr_line(result) == (
        f"genlab-train: error: {run_dir} already exists: another run started with run_id=same this second; give "
        "another run_id, or resume=<run_dir> to continue a run")
    assert files_of(run_dir) == before


def test_a_second_process_on_a_live_run_fails_naming_the_dir_and_the_pid_and_leaves_the_run_alone(
        run_cli, output_dir):
    process = subprocess.Popen(
        [sys.executable, "-m", "genlab.train", "trainer.max_epochs=6", "metrics=none", "test=false",
         "callbacks.rich_progress_bar=null"], cwd=REPO, env={**os.environ, "GENLAB_OUTPUT_DIR": str(output_dir)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list(output_dir.glob("dcgan_digits/runs/*/checkpoints/last.ckpt")) and time.monotonic() < deadline:
            time.sleep(0.1)
        (run_dir,) = run_dirs(output_dir)
        hydra_before = files_of(run_dir / ".hydra")
        result = run_cli("train", f"resume={run_dir}", "trainer.max_epochs=8")
        assert process.poll() is None, "the first run ended before the second process tried"
        _, stderr = process.communicate(timeout=300)
    finally:
        process.kill()
    assert result.exit_code == 2
    assert re.fullmatch(rf"genlab-train: error: {re.escape(str(run_dir))} is in use by another genlab process \(pid "
                        rf"{process.pid} on \S+\); wait for it to end, or stop it first", last_stderr_line(result))
    assert process.returncode == 0, stderr[-2000:]
    info = read_run_info(run_dir)
    assert info["status"] == "completed" and info["resumed_times"] == [] and info["pid"] == process.pid
    assert files_of(run_dir / ".hydra") == hydra_before
    header, *rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert all(row.count(",") == header.count(",") for row in rows)  # no row of another process's columns
    assert "train/g_loss" in header and len(rows) > 0


# ---- refused resumes leave the run as it was; runs that lost their last.ckpt or their disk resume ----------------------
def test_a_refused_resume_leaves_the_run_byte_for_byte(run_cli, run_copy):
    before = files_of(run_copy)
    result = run_cli("train", f"resume={run_copy}", "model.latent_dim=32")
    assert result.exit_code == 2
    assert last_stderr_line(result) == (
        "genlab-train: error: the checkpoint does not fit the DCGAN built from this config: size mismatch for "
        "generator.net.0.weight: copying a param with shape torch.Size([64, 128, 4, 4]) from checkpoint, the shape in "
        "current model is torch.Size([32, 128, 4, 4]); use the run's own model and data settings")
    assert files_of(run_copy) == before  # run_info.json, .hydra/, train.log, config_tree.log, metrics.csv


def test_eval_of_a_checkpoint_that_does_not_fit_names_the_parameter(run_cli, run_copy):
    ckpt = run_copy / "checkpoints" / "last.ckpt"
    result = run_cli("eval", f"ckpt_path={ckpt}", "model.latent_dim=32")
    assert result.exit_code == 2
    assert last_stderr_line(result) == (
        f"genlab-eval: error: {ckpt} does not fit model genlab.models.dcgan.DCGAN: size mismatch for "
        "generator.net.0.weight: copying a param with shape torch.Size([64, 128, 4, 4]) from checkpoint, the shape in "
        "current model is torch.Size([32, 128, 4, 4])")


def test_a_run_killed_during_its_first_save_of_last_ckpt_resumes_from_its_best_checkpoint(run_cli, run_copy):
    checkpoints = run_copy / "checkpoints"
    (best,) = checkpoints.glob("best-*.ckpt")
    partial = checkpoints / ".last.ckpt.x1y2z3.tmp"  # what a kill inside write_atomic leaves
    partial.write_bytes((checkpoints / "last.ckpt").read_bytes()[:1000])
    (checkpoints / "last.ckpt").unlink()
    step = torch.load(best, weights_only=True)["global_step"]
    result = run_cli("train", *FAST, f"resume={run_copy}", "trainer.max_epochs=3")
    assert result.exit_code == 0, result.stderr
    assert (f"resume={run_copy}: no last.ckpt (killed during its first save?); resuming from {best}"
            in result.stdout)
    assert read_run_info(run_copy)["status"] == "completed" and not partial.exists()
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["global_step"] > step


def test_resume_of_a_run_whose_run_info_is_corrupt_names_the_file(run_cli, run_copy):
    (run_copy / "run_info.json").write_text('{"run_id": "abc", ')
    before = files_of(run_copy)
    result = run_cli("train", f"resume={run_copy}")
    assert result.exit_code == 2
    assert last_stderr_line(result).startswith(
        f"genlab-train: error: {run_copy}/run_info.json is not valid JSON (Expecting property name"), result.stderr
    assert files_of(run_copy) == before


@pytest.fixture
def small_disk(tmp_path):
    """A 9 MB tmpfs (root only): room for a run's first checkpoints, not for all of them."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs `make test` as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=9M", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_in_one_line_marks_the_run_failed_keeps_its_checkpoints_and_it_resumes(
        run_cli, small_disk, monkeypatch):
    monkeypatch.setenv("GENLAB_OUTPUT_DIR", str(small_disk / "outputs"))
    result = run_cli("train", *FAST, "trainer.max_epochs=6", "test=false")
    assert result.exit_code == 2
    (run_dir,) = run_dirs(small_disk / "outputs")
    match = re.fullmatch(r"genlab-train: error: no space left on the device to write (\S+); files written before "
                         r"\(earlier checkpoints included\) are intact: free space, or set paths.output_dir to a disk "
                         r"with room", last_stderr_line(result))
    assert match and pathlib.Path(match.group(1)).parent == run_dir / "checkpoints", result.stderr[-2000:]
    info = read_run_info(run_dir)
    assert info["status"] == "failed" and info["error"].startswith("no space left on the device")
    kept = sorted((run_dir / "checkpoints").glob("*.ckpt"))
    assert kept and all(torch.load(path, weights_only=True)["global_step"] > 0 for path in kept)
    assert not list(run_dir.rglob(".*.tmp"))
    subprocess.run(["mount", "-o", "remount,size=64M", str(small_disk)], check=True)  # room again
    resumed = run_cli("train", *FAST, "trainer.max_epochs=6", "test=false", f"resume={run_dir}")
    assert resumed.exit_code == 0, resumed.stderr
    assert read_run_info(run_dir)["status"] == "completed"
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 6 * 4


# ---- stops, short runs, data and messages ---------------------------------------------------------------------------
DOUBLE_CTRL_C = '''
"""A DCGAN whose fourth training step gets two Ctrl+C (SIGINT), the second while the step still runs."""
import os, signal, time

from genlab.models.dcgan import DCGAN


class InterruptedTwice(DCGAN):
    def training_step(self, batch, batch_idx):
        if self.global_step == 5:  # the second batch of the second epoch
            for _ in range(2):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)  # Python runs the handler of the first before the second arrives
        return super().training_step(batch, batch_idx)
'''


def test_a_second_ctrl_c_stops_at_once_as_an_interrupt_keeping_the_last_checkpoint(output_dir, tmp_path):
    (tmp_path / "interrupted_twice.py").write_text(textwrap.dedent(DOUBLE_CTRL_C))
    result = subprocess.run(
        [sys.executable, "-m", "genlab.train", *FAST, "model._target_=interrupted_twice.InterruptedTwice",
         "trainer.max_epochs=3", "test=false"], cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "GENLAB_OUTPUT_DIR": str(output_dir), "GENLAB_CONFIG_PATH": str(tmp_path)})
    (run_dir,) = run_dirs(output_dir)
    last = run_dir / "checkpoints" / "last.ckpt"
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1] == (
        f"genlab-train: error: stopped at once by a second SIGINT, mid-batch; its last checkpoint {last} is kept")
    info = read_run_info(run_dir)
    assert info["status"] == "interrupted" and "second SIGINT" in info["error"]
    assert torch.load(last, weights_only=True)["global_step"] == 4  # the first epoch's, not the half batch


def test_a_run_bounded_by_steps_validates_after_its_last_step(run_cli, output_dir, tmp_path):
    from helpers.text_runs import metric_column

    text = tmp_path / "play.txt"
    text.write_text(TEXT, encoding="utf-8")
    args = [*without(lm_args(text, "gpt"), "trainer.max_steps", "data.train_batches_per_epoch"),
            "trainer.max_steps=14", "data.train_batches_per_epoch=100"]  # 14 steps of a 100-step epoch
    assert run_cli("train", *args).exit_code == 0
    (run_dir,) = run_dirs(output_dir, "gpt_text")
    rows = (run_dir / "metrics.csv").read_text().splitlines()
    steps = [row.split(",") for row in rows]
    header = steps[0]
    val_steps = [int(row[header.index("step")]) for row in steps[1:] if row[header.index("val/loss")]]
    assert val_steps == [13] and len(metric_column(run_dir, "val/loss")) == 1
    (best,) = (run_dir / "checkpoints").glob("best-*.ckpt")
    assert torch.load(best, weights_only=True)["global_step"] == 14


def test_text_data_path_naming_a_directory_says_so(run_cli, output_dir, tmp_path):
    result = run_cli("train", *lm_args(tmp_path, "gpt"))
    assert result.exit_code == 2
    assert last_stderr_line(result) == (
        f"genlab-train: error: text file {tmp_path} is a directory; set data.path to a UTF-8 text file")


def test_resuming_a_language_model_with_image_data_says_there_is_no_vocabulary(run_cli, output_dir, tmp_path):
    text = tmp_path / "play.txt"
    text.write_text(TEXT, encoding="utf-8")
    assert run_cli("train", *lm_args(text, "gpt")).exit_code == 0
    (run_dir,) = run_dirs(output_dir, "gpt_text")
    before = files_of(run_dir)
    result = run_cli("train", *without(lm_args(text, "gpt"), "data"), "data=digits", "model.block_size=32",
                     f"resume={run_dir}")
    assert result.exit_code == 2
    assert last_stderr_line(result).startswith(
        f"genlab-train: error: resume={run_dir}: this config's data gives no vocabulary, but "), result.stderr
    assert files_of(run_dir) == before


def test_a_run_prints_no_ads_or_known_noise_and_ends_naming_its_run_dir(output_dir):
    result = subprocess.run([sys.executable, "-m", "genlab.train", *FAST, "trainer.max_epochs=1"], cwd=REPO,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "GENLAB_OUTPUT_DIR": str(output_dir), "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = run_dirs(output_dir)
    console = result.stdout + result.stderr
    for noise in ("Tip:", "litlogger", "will save all extracted features", "FLOPs", "srun", "already configured"):
        assert noise not in console, noise
    assert "generator" in console  # the model summary itself is still shown
    assert result.stdout.strip().splitlines()[-1] == f"genlab-train: run completed; its files are in {run_dir}"


def test_a_language_model_summary_leaves_out_its_metric_state(run_cli, output_dir, tmp_path, capsys):
    text = tmp_path / "play.txt"
    text.write_text(TEXT, encoding="utf-8")
    result = run_cli("train", *lm_args(text, "gpt", "trainer.max_steps=2"))
    assert result.exit_code == 0
    assert " network " in result.stdout and "sums" not in result.stdout and "SumMetric" not in result.stdout
