"""TrainThroughputMonitor, which takes in finished batches only on logging steps, logs exactly what Lightning's own
ThroughputMonitor logs batch by batch (same clock), validation time excluded, and no validation rows."""
import time

import pytest
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ThroughputMonitor
from lightning.pytorch.demos.boring_classes import BoringModel
from lightning.pytorch.loggers import Logger

from genlab.callbacks.throughput import TrainThroughputMonitor, batch_length, batch_size

STEP_SECONDS, VALIDATION_BATCH_SECONDS = 0.25, 10.0


class Clock:
    """A perf_counter that moves only when the model says so: both monitors see the same times."""

    now = 1000.0

    @classmethod
    def read(cls) -> float:
        return cls.now


class TimedModel(BoringModel):
    def training_step(self, batch, batch_idx):
        Clock.now += STEP_SECONDS * (1 + batch_idx % 3)  # uneven steps: a window's rate depends on which ones it holds
        return super().training_step(batch, batch_idx)

    def validation_step(self, batch, batch_idx):
        Clock.now += VALIDATION_BATCH_SECONDS
        return super().validation_step(batch, batch_idx)


class Rows(Logger):
    """Keeps every logged throughput row as (step, metrics)."""

    name, version = "rows", 0

    def __init__(self):
        super().__init__()
        self.rows = []

    def log_metrics(self, metrics, step=None):
        if any("per_sec" in key or key.endswith("/time") for key in metrics):
            self.rows.append((step, dict(metrics)))

    def log_hyperparams(self, *args, **kwargs):
        pass


def throughput_rows(monitor, monkeypatch, tmp_path, accumulate: int) -> list:
    monkeypatch.setattr(time, "perf_counter", Clock.read)
    Clock.now = 1000.0
    rows = Rows()
    trainer = Trainer(default_root_dir=tmp_path, max_steps=18, limit_train_batches=8, limit_val_batches=2,
                      val_check_interval=4, log_every_n_steps=3, accumulate_grad_batches=accumulate,
                      num_sanity_val_steps=0, callbacks=[monitor], logger=rows, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(TimedModel())
    return rows.rows


@pytest.mark.parametrize("accumulate", [1, 2])
def test_bulk_monitor_logs_what_lightnings_monitor_logs_batch_by_batch(monkeypatch, tmp_path, accumulate):
    kwargs = dict(batch_size_fn=batch_size, length_fn=batch_length, window_size=4)
    ours = throughput_rows(TrainThroughputMonitor(**kwargs), monkeypatch, tmp_path / "ours", accumulate)
    lightnings = throughput_rows(ThroughputMonitor(**kwargs), monkeypatch, tmp_path / "lightning", accumulate)

    assert ours == [(step, row) for step, row in lightnings if not any(key.startswith("validate") for key in row)]
    assert any("train/device/items_per_sec" in row for _, row in ours)  # the window filled: rates were logged
    last = ours[-1][1]
    assert last["train/batches"] == last["train/samples"] > 6  # BoringModel: one sample of 32 floats a batch
    # Validation time (10 s a batch) is taken out: the training clock holds exactly the training steps' time.
    steps = [STEP_SECONDS * (1 + (batch % 8) % 3) for batch in range(last["train/batches"])]  # 8 batches an epoch
    assert last["train/time"] == pytest.approx(sum(steps))
