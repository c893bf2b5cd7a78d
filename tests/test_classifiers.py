"""Specification of the image classifiers: network contract, training, the classifier experiments, predict_classes."""
import csv

import numpy as np
import pytest
import torch

from conftest import FAST, read_run_info, run_dirs
from genlab.errors import ConfigError
from genlab.models.cnn_classifier import CNNClassifier
from genlab.models.lstm_classifier import LSTMClassifier
from genlab.networks.classifiers import LeNet, RowLSTM

NETWORKS = {
    "cnn": lambda channels, size: LeNet(channels, size, num_classes=7, width=8, feature_dim=24),
    "lstm": lambda channels, size: RowLSTM(channels, size, num_classes=7, hidden_size=24, num_layers=2),
}


@pytest.mark.parametrize("kind", NETWORKS)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [8, 16, 28, 32])
def test_network_gives_logits_and_penultimate_features_for_every_size_and_channel_count(kind, channels, size):
    network = NETWORKS[kind](channels, size).eval()
    images = torch.rand(5, channels, size, size) * 2 - 1
    assert network(images).shape == (5, 7)
    assert network.features(images).shape == (5, network.num_features) and network.num_features == 24


def test_bidirectional_lstm_features_concatenate_both_directions():
    network = RowLSTM(1, 16, hidden_size=12, bidirectional=True)
    assert network.num_features == 24
    assert network.features(torch.zeros(2, 1, 16, 16)).shape == (2, 24)


@pytest.mark.parametrize(
    "build, key",
    [
        (lambda: LeNet(channels=2), "model.channels"),
        (lambda: LeNet(image_size=2), "model.image_size"),
        (lambda: LeNet(width=0), "model.width"),
        (lambda: RowLSTM(dropout=1.5), "model.dropout"),
        (lambda: CNNClassifier(lr_schedule="step"), "model.lr_schedule"),
        (lambda: LSTMClassifier(weight_decay=-1.0), "model.weight_decay"),
    ],
)
def test_bad_classifier_settings_raise_config_errors_naming_the_key(build, key):
    with pytest.raises(ConfigError, match=key):
        build()


@pytest.mark.parametrize(
    "model",
    [
        lambda: CNNClassifier(image_size=16, width=8, feature_dim=32, dropout=0.0, lr=3e-3),
        lambda: LSTMClassifier(image_size=16, hidden_size=32, num_layers=1, dropout=0.0, lr=1e-2),
    ],
    ids=["cnn", "lstm"],
)
def test_a_few_training_steps_on_a_fixed_batch_lower_the_loss(model):
    torch.manual_seed(0)
    module = model()
    images, labels = torch.rand(32, 1, 16, 16) * 2 - 1, torch.arange(32) % 10
    optimizer = torch.optim.AdamW(module.parameters(), lr=module.lr)
    losses = []
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(module(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_predict_classes_gives_int64_labels_in_range_for_tensors_and_uint8_samples_and_keeps_train_mode():
    module = CNNClassifier(image_size=16, width=8, feature_dim=16, num_classes=10)
    module.train()
    from_tensor = module.predict_classes(torch.rand(9, 1, 16, 16) * 2 - 1, batch_size=4)
    from_uint8 = module.predict_classes(np.random.default_rng(0).integers(0, 256, (6, 16, 16, 1), dtype=np.uint8))
    for labels, count in ((from_tensor, 9), (from_uint8, 6)):
        assert labels.dtype == torch.int64 and labels.shape == (count,)
        assert int(labels.min()) >= 0 and int(labels.max()) < 10
    assert module.training


@pytest.mark.parametrize("experiment", ["cnn_digits", "lstm_digits"])
def test_short_classifier_digits_run_logs_accuracies_and_decays_the_learning_rate(run_cli, output_dir, experiment):
    result = run_cli("train", f"experiment={experiment}", *FAST, "callbacks.model_summary=null")
    assert result.exit_code == 0, result.stderr
    task_name = {"cnn_digits": "cnn_classifier_digits", "lstm_digits": "lstm_classifier_digits"}[experiment]
    (run_dir,) = run_dirs(output_dir, task_name)
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
    val_acc = [float(row["val/acc"]) for row in rows if row.get("val/acc")]
    assert len(val_acc) == 2 and all(0.0 <= acc <= 1.0 for acc in val_acc)
    assert any(row.get("train/loss") for row in rows) and any(row.get("train/acc") for row in rows)
    learning_rates = [float(row["lr-AdamW"]) for row in rows if row.get("lr-AdamW")]
    assert learning_rates[0] > learning_rates[-1] > 0  # cosine decay over the run's 8 optimizer steps
    info = read_run_info(run_dir)
    assert info["status"] == "completed" and {"test/acc", "test/loss"} <= set(info["final_metrics"])
    assert list((run_dir / "checkpoints").glob("best-*.ckpt")) and not (run_dir / "samples").exists()


def test_a_trained_classifier_loads_from_its_checkpoint_and_predicts_labels(run_cli, output_dir):
    import genlab
    from genlab.data.digits import DigitsDataModule

    assert run_cli("train", "experiment=cnn_digits", "debug=fdr", "callbacks.model_summary=null").exit_code == 0
    (run_dir,) = run_dirs(output_dir, "debug")
    classifier = genlab.load(run_dir / "checkpoints" / "last.ckpt")
    images = DigitsDataModule(image_size=16).real_images("test", 20)
    labels = classifier.predict_classes(images)
    assert labels.shape == (20,) and labels.dtype == torch.int64 and 0 <= int(labels.min()) <= int(labels.max()) < 10
    assert classifier.features(images).shape == (20, classifier.num_features)
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    checkpoint["genlab"]["config"]["model"]["_target_"] = "genlab.models.classifier.CNNClassifier"  # before the move
    torch.save(checkpoint, run_dir / "checkpoints" / "old.ckpt")
    assert torch.equal(genlab.load(run_dir / "checkpoints" / "old.ckpt").predict_classes(images), labels)
