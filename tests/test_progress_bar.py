"""The default progress bar takes in batches at most `refresh_rate` times a second, and always the last batch."""
import re

import pytest
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import RichProgressBar
from lightning.pytorch.demos.boring_classes import BoringModel

from conftest import FAST, run_dirs, run_subprocess
from genlab.callbacks import progress_bar
from genlab.callbacks.progress_bar import ThrottledRichProgressBar


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def updates(monkeypatch):
    """Batch indices that reached Lightning's RichProgressBar, with time driven by `updates.clock`."""
    seen = []
    monkeypatch.setattr(RichProgressBar, "on_train_batch_end", lambda self, *args: seen.append(args[-1]))
    monkeypatch.setattr(RichProgressBar, "on_validation_batch_end", lambda self, *args: seen.append(args[4]))
    monkeypatch.setattr(ThrottledRichProgressBar, "total_train_batches", property(lambda self: 100))
    monkeypatch.setattr(ThrottledRichProgressBar, "total_val_batches_current_dataloader", property(lambda self: 7))
    clock = Clock()
    monkeypatch.setattr(progress_bar.time, "monotonic", clock)
    return seen, clock


def test_batches_reach_the_bar_at_most_refresh_rate_times_a_second_and_always_the_last(updates):
    seen, clock = updates
    bar = ThrottledRichProgressBar(refresh_rate=10)
    for batch_idx in range(100):  # 30 ms batches: 3 s in all
        bar.on_train_batch_end(None, None, None, None, batch_idx)
        clock.now += 0.03
    assert seen[0] == 0 and seen[-1] == 99
    assert all(0.1 <= 0.03 * (b - a) < 0.13 for a, b in zip(seen, seen[1:-1]))  # one update per 100 ms
    assert 25 <= len(seen) <= 31  # 3 s at most 10 a second, plus the last batch


def test_slow_batches_each_reach_the_bar_and_validation_ends_on_its_last_batch(updates):
    seen, clock = updates
    bar = ThrottledRichProgressBar(refresh_rate=10)
    for batch_idx in range(5):  # 200 ms batches: every one is shown
        bar.on_train_batch_end(None, None, None, None, batch_idx)
        clock.now += 0.2
    for batch_idx in range(7):  # a validation within one interval: its first and last batches
        bar.on_validation_batch_end(None, None, None, None, batch_idx)
    assert seen == [0, 1, 2, 3, 4, 0, 6]


def test_a_disabled_bar_as_on_ranks_above_0_hands_lightning_every_batch_from_sanity_check_to_predict(
        tmp_path, monkeypatch):
    seen = []

    def spy(lightning_hook):
        def hook(self, trainer, *args):
            seen.append((lightning_hook.__name__, trainer.sanity_checking))
            lightning_hook(self, trainer, *args)
        return hook

    for name in ("on_train_batch_end", "on_validation_batch_end"):
        monkeypatch.setattr(RichProgressBar, name, spy(getattr(RichProgressBar, name)))
    bar = ThrottledRichProgressBar(refresh_rate=10)
    bar.disable()  # as Lightning's setup does on every rank but 0
    trainer = Trainer(default_root_dir=tmp_path, max_epochs=1, limit_train_batches=3, limit_val_batches=2,
                      limit_test_batches=2, limit_predict_batches=2, num_sanity_val_steps=2, callbacks=[bar],
                      logger=False, enable_checkpointing=False, enable_model_summary=False)
    model = BoringModel()
    trainer.fit(model)
    trainer.test(model, verbose=False)
    trainer.predict(model)
    validation, train = "on_validation_batch_end", "on_train_batch_end"
    assert seen == [(validation, True)] * 2 + [(train, False)] * 3 + [(validation, False)] * 2


def test_a_training_run_with_the_default_bar_draws_every_epoch_to_its_last_batch(output_dir):
    bar_off = "callbacks.rich_progress_bar=null"
    result = run_subprocess("train", *[arg for arg in FAST if arg != bar_off], "test=false", "metrics=none",
                            env={"GENLAB_OUTPUT_DIR": str(output_dir)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(run_dirs(output_dir)) == 1
    assert re.search(r"Epoch 1/1\s+\S+\s+4/4", result.stdout + result.stderr), result.stdout[-2000:]


def test_a_run_bounded_by_steps_alone_shows_the_epoch_without_lightnings_minus_two(output_dir):
    bar_off = "callbacks.rich_progress_bar=null"
    args = [arg for arg in FAST if arg not in (bar_off, "trainer.max_epochs=2")]
    result = run_subprocess("train", *args, "trainer.max_epochs=-1", "trainer.max_steps=6", "test=false",
                            "metrics=none", env={"GENLAB_OUTPUT_DIR": str(output_dir)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(run_dirs(output_dir)) == 1
    output = result.stdout + result.stderr
    assert re.search(r"Epoch 1\s+\S+\s+2/2", output) and "/-2" not in output, output[-2000:]


def test_dropping_the_bar_callback_leaves_no_bar_rather_than_lightnings_default(output_dir):
    result = run_subprocess("train", *FAST, "test=false", "metrics=none",  # FAST drops callbacks.rich_progress_bar
                            env={"GENLAB_OUTPUT_DIR": str(output_dir)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(run_dirs(output_dir)) == 1
    assert not re.search(r"Epoch \d", result.stdout + result.stderr), result.stdout[-2000:]
