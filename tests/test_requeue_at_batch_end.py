"""Lightning's SLURM requeue handler, deferred from wherever USR1 lands to the end of the batch."""
import os
import signal

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch.utils.data import DataLoader, TensorDataset

from genlab.callbacks.requeue_at_batch_end import RequeueAtBatchEnd


class Regression(LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        if batch_idx == 2:
            os.kill(os.getpid(), signal.SIGUSR1)  # lands mid-step, before the optimizer steps
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


class BatchEnds(Callback):
    def __init__(self):
        self.ended = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.ended += 1


def test_usr1_mid_step_runs_the_installed_handler_once_at_that_batchs_end(tmp_path):
    batch_ends = BatchEnds()  # runs before RequeueAtBatchEnd at each batch end
    trainer = Trainer(max_steps=6, callbacks=[batch_ends, RequeueAtBatchEnd()], logger=False,
                      enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                      default_root_dir=tmp_path)
    calls = []

    def lightning_handler(signum, frame):  # stands for the one Lightning's SLURMEnvironment installs
        calls.append((signum, trainer.global_step, batch_ends.ended))

    previous = signal.signal(signal.SIGUSR1, lightning_handler)
    try:
        trainer.fit(Regression(), DataLoader(TensorDataset(torch.randn(12, 2)), batch_size=2))
        assert signal.getsignal(signal.SIGUSR1) == lightning_handler  # back in place after training
    finally:
        signal.signal(signal.SIGUSR1, previous)
    # the signal came during batch 2's step; the handler ran once, after that step and its other batch-end hooks
    assert calls == [(signal.SIGUSR1, 3, 3)]


def test_without_an_installed_handler_usr1_is_left_alone(tmp_path):
    previous = signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    try:
        trainer = Trainer(max_steps=2, callbacks=[RequeueAtBatchEnd()], logger=False, enable_checkpointing=False,
                          enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
        seen = []

        class Watch(Callback):
            def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
                seen.append(signal.getsignal(signal.SIGUSR1))

        trainer.callbacks.append(Watch())
        trainer.fit(Regression(), DataLoader(TensorDataset(torch.randn(4, 2)), batch_size=2))
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert seen == [signal.SIG_IGN, signal.SIG_IGN]
