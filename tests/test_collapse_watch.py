"""The collapse watch: a generator trained on one digit trips it and is stopped with its best checkpoint kept; healthy
or briefly low metrics never trip it; its settings are checked."""
import logging
from types import SimpleNamespace

import pytest
import torch
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ModelCheckpoint

from genlab.callbacks.collapse_watch import CollapseWatch
from genlab.callbacks.sample_quality import SampleQuality
from genlab.data.batched import BatchedTensors
from genlab.data.digits import DigitsDataModule
from genlab.errors import ConfigError
from genlab.models.dcgan import DCGAN


class RecordingLogger:
    def __init__(self):
        self.rows = []

    def log_metrics(self, metrics: dict, step: int) -> None:
        self.rows.append(metrics)


def validations(watch: CollapseWatch, metric_rows: list[dict]) -> SimpleNamespace:
    """Feed `watch` one validation per row of logged metrics, as the Trainer would; the trainer stand-in after them."""
    trainer = SimpleNamespace(sanity_checking=False, should_stop=False, global_step=0, loggers=[RecordingLogger()])
    for epoch, metrics in enumerate(metric_rows):
        trainer.current_epoch, trainer.global_step = epoch, 10 * epoch
        trainer.callback_metrics = {name: torch.tensor(value) for name, value in metrics.items()}
        watch.on_validation_end(trainer, None)
    return trainer


def test_healthy_or_briefly_low_metrics_never_trip_the_watch(caplog):
    watch = CollapseWatch(min_coverage=0.2, min_class_share=0.02, patience=2, stop_on_collapse=True)
    rows = [{"val/coverage": 0.1, "val/class_min_frac": 0.08}, {"val/coverage": 0.5, "val/class_min_frac": 0.09},
            {"val/coverage": 0.6, "val/class_min_frac": 0.01}, {"val/coverage": 0.7, "val/class_min_frac": 0.1}]
    with caplog.at_level(logging.WARNING):
        trainer = validations(watch, rows)
    assert not watch.collapsed and not trainer.should_stop and not caplog.records
    assert [row["val/collapsed"] for row in trainer.loggers[0].rows] == [0.0] * 4


def test_patience_low_validations_in_a_row_warn_once_and_stop_only_when_asked(caplog):
    rows = [{"val/coverage": 0.5, "val/class_min_frac": 0.1}] + [{"val/coverage": 0.05, "val/class_min_frac": 0.1}] * 4
    for stop in (False, True):
        caplog.clear()
        watch = CollapseWatch(min_coverage=0.2, min_class_share=0.02, patience=3, stop_on_collapse=stop)
        with caplog.at_level(logging.WARNING):
            trainer = validations(watch, rows)
        assert [row["val/collapsed"] for row in trainer.loggers[0].rows] == [0.0, 0.0, 0.0, 1.0, 1.0]
        assert trainer.should_stop is stop
        (warning,) = [record.getMessage() for record in caplog.records]
        assert warning.startswith("mode collapse at epoch 3 (step 30): val/coverage=0.05 < 0.2 for 3 validations in a row")


def test_only_validations_that_measured_sample_quality_count_and_null_thresholds_are_not_checked():
    low = {"val/coverage": 0.0, "val/class_min_frac": 0.0}
    assert validations(CollapseWatch(patience=2, every_n_epochs=2), [low, low, low]).loggers[0].rows == [
        {"val/collapsed": 0.0}]  # epochs 0 and 2 reuse the metrics of the last measuring validation
    assert not CollapseWatch(min_coverage=None, min_class_share=None, patience=1).below_thresholds(low)
    assert validations(CollapseWatch(patience=1), [{"val/fid": 3.0}]).loggers[0].rows == []  # nothing to watch


@pytest.mark.parametrize("settings, message", [
    ({"min_coverage": 1.5}, "callbacks.collapse_watch.min_coverage must be a share in [0, 1] or null, got 1.5"),
    ({"min_class_share": "low"}, "callbacks.collapse_watch.min_class_share must be a share in [0, 1] or null, got 'low'"),
    ({"patience": 0}, "callbacks.collapse_watch.patience must be a whole number >= 1, got 0"),
    ({"stop_on_collapse": "yes"}, "callbacks.collapse_watch.stop_on_collapse must be true or false, got 'yes'"),
])
def test_bad_settings_are_one_line_errors_naming_the_key(settings, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        CollapseWatch(**settings)


def one_digit_datamodule(digit: int) -> DigitsDataModule:
    """Digits whose train split holds only `digit`; val and test keep all ten (the reference the metrics use)."""
    datamodule = DigitsDataModule(image_size=16, batch_size=32, seed=12345)
    datamodule.setup("fit")
    images, labels = datamodule.datasets["train"].tensors
    datamodule.datasets["train"] = BatchedTensors(images[labels == digit], labels[labels == digit])
    return datamodule


def test_generator_trained_on_one_digit_trips_the_watch_and_stops_keeping_the_best_checkpoint(tmp_path, cache_dir):
    torch.manual_seed(0)
    model = DCGAN(image_size=16, latent_dim=16, g_width=16, d_width=16)
    watch = CollapseWatch(min_coverage=0.2, min_class_share=0.02, patience=2, stop_on_collapse=True)
    checkpoint = ModelCheckpoint(dirpath=tmp_path, monitor="val/fid", mode="min", save_top_k=1)
    quality = SampleQuality(num_samples=150, cache_dir=str(cache_dir), at_start=False)
    trainer = Trainer(max_epochs=8, logger=False, enable_progress_bar=False, enable_model_summary=False,
                      accelerator="cpu", limit_val_batches=1, num_sanity_val_steps=0,
                      callbacks=[quality, watch, checkpoint])
    trainer.fit(model, datamodule=one_digit_datamodule(0))
    assert watch.collapsed and trainer.current_epoch == 2  # stopped after the second low validation, not 8 epochs
    assert float(trainer.callback_metrics["val/class_min_frac"]) < 0.02
    assert checkpoint.best_model_path and (tmp_path / checkpoint.best_model_path.split("/")[-1]).is_file()
