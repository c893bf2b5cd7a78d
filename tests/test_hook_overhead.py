"""Lightning's per-step hook machinery is trimmed without changing what runs: inherited no-op batch hooks are
skipped."""
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.demos.boring_classes import BoringModel

from conftest import FAST
from genlab.compat.lightning import BATCH_HOOKS, skip_inherited_batch_hooks

SKIPPED_IN_RUN: dict[str, set[str]] = {}


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_start(self, trainer, pl_module):
        self.calls.append("train_start")

    def on_after_backward(self, trainer, pl_module):
        self.calls.append("after_backward")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.calls.append(f"batch_end {batch_idx}")


class Plain(Callback):
    """Overrides no batch hook: Lightning calls none of its batch hooks once they are skipped."""

    def on_train_end(self, trainer, pl_module):
        self.ended = True


def test_inherited_batch_hooks_are_skipped_and_overridden_ones_still_run(tmp_path):
    recorder, plain = Recorder(), Plain()
    trainer = Trainer(default_root_dir=tmp_path, max_steps=3, limit_val_batches=0, callbacks=[recorder, plain],
                      logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    skip_inherited_batch_hooks(trainer.callbacks)
    assert all(getattr(plain, hook) is None for hook in BATCH_HOOKS)
    assert recorder.on_before_backward is None and callable(recorder.on_after_backward)
    assert callable(plain.state_dict) and callable(plain.on_save_checkpoint)  # only batch hooks are touched

    trainer.fit(BoringModel())
    assert recorder.calls == ["train_start", *[call for i in range(3) for call in ("after_backward", f"batch_end {i}")]]
    assert plain.ended


class SkippedHooksProbe(Callback):
    """Records, for every callback of a genlab-train run, which batch hooks its Trainer skips."""

    def on_train_start(self, trainer, pl_module):
        for callback in trainer.callbacks:
            SKIPPED_IN_RUN[type(callback).__name__] = {hook for hook in BATCH_HOOKS if getattr(callback, hook) is None}


def test_genlab_train_skips_the_batch_hooks_its_callbacks_inherit(run_cli):
    probe = "+callbacks.probe._target_=test_hook_overhead.SkippedHooksProbe"
    with_bar = [arg for arg in FAST if arg != "callbacks.rich_progress_bar=null"]
    result = run_cli("train", *with_bar, "test=false", "metrics=none", probe)
    assert result.exit_code == 0, result.stderr[-2000:]
    assert SKIPPED_IN_RUN["SkippedHooksProbe"] == set(BATCH_HOOKS)
    assert SKIPPED_IN_RUN["RNGState"] == set(BATCH_HOOKS) - {"on_train_batch_start"}
    bar, checkpoint = SKIPPED_IN_RUN["ThrottledRichProgressBar"], SKIPPED_IN_RUN["RunCheckpoint"]
    assert "on_train_batch_end" not in bar | checkpoint and "on_validation_batch_end" not in bar
    assert "on_before_backward" in bar & checkpoint
