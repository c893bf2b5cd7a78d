"""A checkpoint whose unpickling would run code is refused wherever genlab loads one: genlab-eval, genlab-sample,
resume, `metrics.classifier_ckpt` and the cached FID feature net. One line names the file, the code never runs,
and the run the file came from is left exactly as it was."""
import pathlib
import shutil

import pytest
import torch

from conftest import FAST, run_dirs

REFUSAL = "refusing to load {path}: it would import "


class FileCreatingPayload:
    """Unpickling this calls Path.touch(target): the kind of side effect a hostile checkpoint carries."""

    def __init__(self, target: pathlib.Path):
        self.target = str(target)

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.target),)


def craft(source: pathlib.Path, destination: pathlib.Path, marker: pathlib.Path) -> pathlib.Path:
    """A copy of a real genlab checkpoint with the payload hidden in its metadata."""
    checkpoint = torch.load(source, weights_only=True)
    checkpoint["genlab"]["note"] = FileCreatingPayload(marker)
    torch.save(checkpoint, destination)
    return destination


def files_of(directory: pathlib.Path) -> dict[str, bytes]:
    """Every file below `directory` (relative path → bytes)."""
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file()}


@pytest.fixture
def run_copy(trained_run, tmp_path) -> pathlib.Path:
    """A private copy of the shared trained run (its last.ckpt may be replaced by a crafted one)."""
    return pathlib.Path(shutil.copytree(trained_run, tmp_path / "run"))


def last_stderr_line(result) -> str:
    return result.stderr.strip().splitlines()[-1]


def test_the_payload_really_runs_code_when_unpickled_without_weights_only(run_copy, tmp_path):
    marker = tmp_path / "created_by_payload"
    evil = craft(run_copy / "checkpoints" / "last.ckpt", tmp_path / "evil.ckpt", marker)
    torch.load(evil, weights_only=False)
    assert marker.is_file()


@pytest.mark.parametrize("command", ["eval", "sample"])
def test_eval_and_sample_refuse_a_crafted_checkpoint_in_one_line_and_leave_its_run_untouched(
        run_cli, run_copy, tmp_path, command):
    marker = tmp_path / "created_by_payload"
    evil = craft(run_copy / "checkpoints" / "last.ckpt", run_copy / "checkpoints" / "evil.ckpt", marker)
    before = files_of(run_copy)
    result = run_cli(command, f"ckpt_path={evil}")
    assert result.exit_code == 2
    assert last_stderr_line(result).startswith(f"genlab-{command}: error: " + REFUSAL.format(path=evil)), result.stderr
    assert not marker.exists()
    assert files_of(run_copy) == before


def test_resume_from_a_crafted_last_ckpt_is_refused_before_the_run_is_touched(run_cli, run_copy, tmp_path):
    marker = tmp_path / "created_by_payload"
    last = run_copy / "checkpoints" / "last.ckpt"
    craft(last, last, marker)
    before = files_of(run_copy)
    result = run_cli("train", f"resume={run_copy}", "ckpt_path=last", "trainer.max_epochs=3")
    assert result.exit_code == 2
    assert last_stderr_line(result).startswith("genlab-train: error: " + REFUSAL.format(path=last)), result.stderr
    assert not marker.exists()
    assert files_of(run_copy) == before  # run_info.json, metrics.csv, checkpoints and Hydra's .hydra/ files alike


def test_a_crafted_classifier_ckpt_for_fid_is_refused_and_never_runs(run_cli, output_dir, run_copy, tmp_path):
    marker = tmp_path / "created_by_payload"
    evil = craft(run_copy / "checkpoints" / "last.ckpt", tmp_path / "classifier.ckpt", marker)
    before = files_of(run_copy)
    result = run_cli("train", *FAST, "trainer.max_epochs=1", "test=false", f"metrics.classifier_ckpt={evil}")
    assert result.exit_code == 2
    assert last_stderr_line(result).startswith("genlab-train: error: " + REFUSAL.format(path=evil)), result.stderr
    assert not marker.exists()
    assert files_of(run_copy) == before
    (run_dir,) = run_dirs(output_dir)
    assert not (run_dir / "checkpoints").exists()  # refused while setting up, before the first step


@pytest.fixture
def crafted_feature_net_cache(tmp_path, monkeypatch, output_dir) -> tuple[pathlib.Path, pathlib.Path]:
    """A fresh cache dir whose cached digits LeNet (the file the default run would load) is a crafted pickle."""
    from genlab.data.digits import DigitsDataModule
    from genlab.metrics.feature_net import cache_key

    description = DigitsDataModule(image_size=16, seed=12345).describe()
    cached = tmp_path / "cache" / "feature_nets" / f"{description['dataset']}-{cache_key(description)}.pt"
    cached.parent.mkdir(parents=True)
    marker = tmp_path / "created_by_payload"
    torch.save({"state_dict": {}, "note": FileCreatingPayload(marker)}, cached)
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "cache"))
    return cached, marker


def test_a_crafted_file_in_the_feature_net_cache_is_refused_in_one_line_naming_it_and_never_runs(
        run_cli, crafted_feature_net_cache):
    cached, marker = crafted_feature_net_cache
    before = cached.read_bytes()
    result = run_cli("train", "debug=fdr")
    assert result.exit_code == 2
    assert last_stderr_line(result).startswith("genlab-train: error: " + REFUSAL.format(path=cached)), result.stderr
    assert not marker.exists()
    assert cached.read_bytes() == before
