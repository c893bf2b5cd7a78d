"""What scripts/fault_injection.py trains and how it kills: the model setups, and the driver that runs genlab-train
in place of `-m genlab.train` and kills the process at a chosen moment (GENLAB_FAULT_MOMENT)."""
from dataclasses import dataclass

QUIET = ("trainer.log_every_n_steps=1", "callbacks.rich_progress_bar=null", "callbacks.model_summary=null")


@dataclass(frozen=True)
class ModelSetup:
    """One model's run: its overrides, checkpoint interval, step-count column and compared metric columns."""

    name: str
    overrides: tuple[str, ...]
    checkpoint_every: int  # steps between last.ckpt saves (an epoch's steps with epoch_checkpoints)
    train_column: str  # one row per trained step
    final_metric: str  # its last value: resumed vs reference, against the noise
    compared: tuple[str, ...]  # `exact`: every value of these columns equals the same-seed reference's
    epoch_checkpoints: bool = False  # the default callbacks' saves: the best, then last.ckpt, after each validation

    def arguments(self, *extra: str) -> list[str]:
        steps = () if self.epoch_checkpoints else (
            f"callbacks.model_checkpoint.every_n_train_steps={self.checkpoint_every}",
            "callbacks.model_checkpoint.every_n_epochs=null")
        return [*self.overrides, *QUIET, *steps, *extra]


DCGAN_DIGITS = ("experiment=dcgan_digits", "trainer.max_epochs=4", "trainer.limit_train_batches=15",
                "trainer.limit_val_batches=2", "metrics.num_samples=200", "test=false")
MODELS = {
    # 4 epochs x 15 batches = 60 steps (one step = one batch = one G and one D update), last.ckpt every 6 steps.
    "dcgan": ModelSetup("dcgan", DCGAN_DIGITS, checkpoint_every=6, train_column="train/g_loss", final_metric="val/fid",
                        compared=("train/g_loss", "train/d_loss", "val/d_loss", "val/fid", "val/kid_mean")),
    # the same run saving as the default callbacks do: best-*.ckpt (by val/fid), then last.ckpt, after each epoch
    "dcgan_epochs": ModelSetup("dcgan_epochs", (*DCGAN_DIGITS, "optimized_metric=val/fid"), checkpoint_every=15,
                               train_column="train/g_loss", final_metric="val/fid",
                               compared=("train/g_loss", "train/d_loss", "val/d_loss", "val/fid", "val/kid_mean"),
                               epoch_checkpoints=True),
    # 2 layers x 64 wide, 300 steps, validation (10 batches) every 100 steps, last.ckpt every 25 steps.
    "gpt": ModelSetup(
        "gpt", ("experiment=gpt_shakespeare_cpu", "model.n_layer=2", "model.n_head=2", "model.n_embd=64",
                "trainer.max_steps=300", "model.lr_decay_steps=300", "model.warmup_steps=20",
                "data.train_batches_per_epoch=100", "trainer.limit_val_batches=10", "model.sample_tokens=40"),
        checkpoint_every=25, train_column="train/loss", final_metric="val/loss", compared=("train/loss", "val/loss")),
}

# Runs a targeted trial in place of `-m genlab.train`: the process SIGKILLs itself at GENLAB_FAULT_MOMENT.
# first-save:<fraction> writes that fraction of the first last.ckpt into its temp file, as a kill inside the write would.
TARGETED_DRIVER = """
import os, sys
moment, _, nth = os.environ["GENLAB_FAULT_MOMENT"].partition(":")
die = lambda *args: os.kill(os.getpid(), 9)
if moment in ("in-validation", "in-training"):
    from lightning.pytorch import Callback
    import genlab.builders as builders
    every, build_callbacks = int(os.environ["GENLAB_FAULT_EVERY"]), builders.build_callbacks
    class KillInLoop(Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if moment == "in-training" and trainer.current_epoch == 0 and batch_idx == int(nth):
                die()
        def on_validation_batch_start(self, trainer, *args):
            if moment == "in-validation" and not trainer.sanity_checking and trainer.global_step % every == 0:
                die()
    builders.build_callbacks = lambda cfg: [*build_callbacks(cfg), KillInLoop()]
elif moment == "first-save":
    import tempfile
    import genlab.checkpoints as checkpoints
    write_atomic = checkpoints.write_atomic
    def write_part_then_die(path, data):
        if path.name == "last.ckpt":
            fd, _ = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.write(fd, data[: int(len(data) * float(nth))])
            os.fsync(fd)
            die()
        write_atomic(path, data)
    checkpoints.write_atomic = write_part_then_die
else:
    import genlab.checkpoints as checkpoints
    import genlab.runs.atomic as atomic
    write_atomic, written = atomic.write_atomic, []
    def write_then_die(path, data):
        written.extend([path] if path.name == "last.ckpt" else [])
        target = path.name == "last.ckpt" and len(written) == int(nth)
        if target and moment == "before-rename":
            atomic.os.replace = die
        write_atomic(path, data)
        if target:
            die()
    checkpoints.write_atomic = write_then_die
sys.argv = ["genlab-train", *sys.argv[1:]]
from genlab.train import main
main()
"""
