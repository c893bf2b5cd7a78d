"""A checkpoint alone is enough: genlab-eval, genlab-sample and genlab.load, all with weights_only=True."""
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import genlab
from conftest import eval_reports, is_plain
from genlab.errors import CheckpointError


def last_ckpt(run_dir: Path) -> Path:
    return run_dir / "checkpoints" / "last.ckpt"


def test_checkpoint_loads_with_weights_only_and_describes_itself_in_plain_containers(trained_run):
    checkpoint = torch.load(last_ckpt(trained_run), weights_only=True)
    meta = checkpoint["genlab"]
    assert is_plain(meta)
    assert meta["run_id"] in trained_run.name and meta["version"] == genlab.__version__
    assert meta["config"]["model"]["_target_"] == "genlab.models.dcgan.DCGAN"
    assert meta["data"]["dataset"] == "digits" and meta["data"]["image_shape"] == [1, 16, 16]
    assert "hyper_parameters" not in checkpoint


def test_genlab_load_round_trips_weights_config_and_data_description(trained_run):
    module = genlab.load(last_ckpt(trained_run))
    state = torch.load(last_ckpt(trained_run), weights_only=True)["state_dict"]
    assert all(torch.equal(module.state_dict()[k], v) for k, v in state.items())
    assert module.genlab_config["data"]["image_size"] == 16 and module.data_description["dataset"] == "digits"
    images = module.sample(5, seed=7)
    assert images.shape == (5, 16, 16, 1) and images.dtype == np.uint8
    assert np.array_equal(images, module.sample(5, seed=7)) and not np.array_equal(images, module.sample(5, seed=8))


def test_eval_needs_only_ckpt_path_and_writes_test_metrics_beside_the_run(run_cli, trained_run):
    earlier = eval_reports(trained_run)
    result = run_cli("eval", f"ckpt_path={last_ckpt(trained_run)}", "data.batch_size=50")
    assert result.exit_code == 0, result.stderr
    (evaluated,) = eval_reports(trained_run) - earlier
    report = json.loads(evaluated.read_text())
    assert report["split"] == "test" and {"test/d_loss", "test/g_loss"} <= set(report["metrics"])
    assert 0 < report["metrics"]["test/d_real"] < 1


def test_eval_on_val_split(run_cli, trained_run):
    assert run_cli("eval", f"ckpt_path={last_ckpt(trained_run)}", "split=val").exit_code == 0
    reports = [json.loads((d / "eval_metrics.json").read_text()) for d in (trained_run / "evals").iterdir()]
    assert any("val/d_loss" in r["metrics"] for r in reports)


def test_sample_writes_uint8_npz_of_requested_count_and_a_grid_matching_genlab_load(run_cli, trained_run):
    result = run_cli("sample", f"ckpt_path={last_ckpt(trained_run)}", "num_samples=12", "seed=3")
    assert result.exit_code == 0, result.stderr
    sample_dir = max((trained_run / "generated").iterdir())
    images = np.load(sample_dir / "samples.npz")["images"]
    assert images.shape == (12, 16, 16, 1) and images.dtype == np.uint8
    assert (sample_dir / "grid.png").stat().st_size > 0
    assert np.array_equal(images, genlab.load(last_ckpt(trained_run)).sample(12, seed=3))


@pytest.mark.parametrize("command", ["eval", "sample"])
def test_eval_and_sample_errors_are_one_line(run_cli, tmp_path, command):
    not_genlab = tmp_path / "plain.ckpt"
    torch.save({"state_dict": {}}, not_genlab)
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(b"not a zip file")
    cases = [
        ([], "ckpt_path is required: add ckpt_path=..."),
        ([f"ckpt_path={tmp_path}/missing.ckpt"], "no such checkpoint file"),
        ([f"ckpt_path={not_genlab}"], "is not a genlab checkpoint"),
        ([f"ckpt_path={corrupt}"], f"cannot read checkpoint {corrupt}"),
    ]
    for args, message in cases:
        result = run_cli(command, *args)
        assert result.exit_code == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], result.stderr


def test_sample_rejects_a_class_label_for_an_unconditional_model(run_cli, trained_run):
    result = run_cli("sample", f"ckpt_path={last_ckpt(trained_run)}", "class_label=3")
    assert result.exit_code == 2 and "class_label=3: DCGAN is unconditional" in result.stderr


class _Payload:
    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.target),))


def test_checkpoint_whose_unpickling_would_run_code_is_refused_and_the_code_never_runs(tmp_path, trained_run):
    marker = tmp_path / "pwned"
    payload = _Payload()
    payload.target = str(marker)
    evil = tmp_path / "evil.ckpt"
    checkpoint = torch.load(last_ckpt(trained_run), weights_only=True)
    checkpoint["genlab"]["payload"] = payload
    torch.save(checkpoint, evil)
    assert zipfile.is_zipfile(evil)
    with pytest.raises(CheckpointError, match="refusing to load .*: it would import "):
        genlab.load(evil)
    assert not marker.exists()
    torch.save(checkpoint, evil, pickle_protocol=pickle.HIGHEST_PROTOCOL)
    with pytest.raises(CheckpointError, match="refusing to load"):
        genlab.load(evil)
    assert not marker.exists()
