"""FID/KID/IS through torchmetrics on the cached LeNet features: logged, cached, meaningful."""
import csv
import json

import numpy as np
import torch

import genlab
from conftest import read_run_info, run_dirs
from genlab.data.digits import DigitsDataModule
from genlab.images import from_uint8
from genlab.metrics import feature_net
from genlab.metrics.feature_net import cached_lenet

SHORT = ["callbacks.rich_progress_bar=null", "trainer.log_every_n_steps=5", "metrics.num_samples=300"]


def csv_column(run_dir, name):
    return [float(row[name]) for row in csv.DictReader(open(run_dir / "metrics.csv")) if row.get(name)]


def test_feature_net_is_trained_once_then_reused_from_the_cache(run_cli, output_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "fresh_cache"))
    trainings = []
    original = feature_net.train_lenet
    monkeypatch.setattr(feature_net, "train_lenet", lambda dm: trainings.append(1) or original(dm))
    for _ in range(2):
        assert run_cli("train", "debug=limit", *SHORT).exit_code == 0
    assert len(trainings) == 1
    (cached,) = (tmp_path / "fresh_cache" / "feature_nets").glob("digits-*.pt")
    assert torch.load(cached, weights_only=True)["val_accuracy"] > 0.9
    first, second = run_dirs(output_dir, "debug")
    hparams = (second / "hparams.yaml").read_text()
    assert f"metrics/feature_net: lenet-digits-{cached.stem.split('-')[1]}" in hparams


def test_trained_conditional_generator_beats_its_untrained_fid_and_draws_the_requested_classes(run_cli, output_dir, cache_dir):
    result = run_cli("train", "experiment=cgan_digits", "trainer.max_epochs=30", "metrics.every_n_epochs=10",
                     "model.g_width=32", "model.d_width=32", *SHORT)
    assert result.exit_code == 0, result.stderr
    (run_dir,) = run_dirs(output_dir, "dcgan_digits")
    fids = csv_column(run_dir, "val/fid")
    assert len(fids) == 4 and fids[-1] < 0.5 * fids[0], fids  # at start, then after epochs 10, 20, 30
    final = read_run_info(run_dir)["final_metrics"]
    assert {"test/fid", "test/kid_mean", "test/is_mean", "test/class_min_frac", "val/fid_at_start"} <= set(final)
    assert final["test/fid"] < final["val/fid_at_start"]

    model = genlab.load(run_dir / "checkpoints" / "last.ckpt")
    classifier, _ = cached_lenet(DigitsDataModule(image_size=16, seed=12345), str(cache_dir))
    accuracies = []
    for label in range(10):
        images = from_uint8(model.sample(40, seed=label, class_label=label))
        with torch.no_grad():
            accuracies.append((classifier(images).argmax(1) == label).float().mean().item())
    assert np.mean(accuracies) > 0.7, accuracies


def test_inception_without_its_extra_installed_is_a_one_line_error(run_cli, output_dir):
    result = run_cli("train", "debug=fdr", "metrics.feature_net=inception")
    assert result.exit_code == 2
    assert "metrics.feature_net=inception needs the optional extra: pip install 'genlab[inception]'" in result.stderr


def test_train_and_eval_log_prdc_with_the_protocol_each_split_was_measured_under(run_cli, output_dir, cache_dir):
    assert run_cli("train", "debug=limit", *SHORT).exit_code == 0
    (run_dir,) = run_dirs(output_dir, "debug")
    info = read_run_info(run_dir)
    assert {f"{split}/{name}" for split in ("val", "test") for name in ("precision", "recall", "density", "coverage")
            } <= set(info["final_metrics"])
    datamodule = DigitsDataModule(image_size=16, seed=12345)
    network, extractor_id = cached_lenet(datamodule, str(cache_dir))
    datamodule.setup("fit")
    val_protocol = {"feature_net": extractor_id, "weights_sha256": feature_net.state_dict_sha256(network),
                    "real_samples": len(datamodule.real_images("val", 300)),  # the whole split: it holds fewer
                    "fake_samples": 300, "reference_split": "val", "image_size": "16x16", "resize": "none"}
    assert info["metrics_protocol"]["val"] == val_protocol
    assert info["metrics_protocol"]["test"]["reference_split"] == "test"
    assert f"metrics/protocol/val/weights_sha256: {val_protocol['weights_sha256']}" in (run_dir / "hparams.yaml").read_text()

    result = run_cli("eval", f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}", "metrics.num_samples=200")
    assert result.exit_code == 0, result.stderr
    (eval_dir,) = (run_dir / "evals").iterdir()
    evaluated = json.loads((eval_dir / "eval_metrics.json").read_text())
    assert 0.0 <= evaluated["metrics"]["test/coverage"] <= 1.0 and "test/fid" in evaluated["metrics"]
    assert evaluated["metrics_protocol"]["test"]["fake_samples"] == 200
