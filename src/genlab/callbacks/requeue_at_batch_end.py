"""Lightning's SLURM auto-requeue (on USR1: save `hpc_ckpt_<n>.ckpt`, `scontrol requeue`) run at a batch boundary.

Lightning runs its handler wherever the signal lands, often mid-step: that checkpoint holds a step whose optimizer
has stepped but whose batch Lightning will train again, so the resumed run logs a step twice or trains a batch twice.
Here the signal only marks the request, and Lightning's own handler runs at the end of the batch, where a checkpoint
resumes exactly (the point its step checkpoints are taken at). Under DDP the ranks agree on the batch first.
"""
import signal

from lightning.pytorch import Callback, LightningModule, Trainer

REQUEUE_SIGNAL = signal.SIGUSR1


class RequeueAtBatchEnd(Callback):
    """Defers the USR1 handler installed when training starts (Lightning's, in an auto-requeueing SLURM job) to the
    next train batch end. Without one installed it does nothing: USR1 keeps its default meaning."""

    def __init__(self, signum: int = REQUEUE_SIGNAL):
        self.signum = signum
        self.requested = False
        self._handler = None

    def _request(self, signum, frame) -> None:
        self.requested = True

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        installed = signal.getsignal(self.signum)  # Lightning installs its handlers before this hook
        if callable(installed):
            try:
                signal.signal(self.signum, self._request)
            except ValueError:  # not in the main thread: leave Lightning's handler as it is
                return
            self._handler = installed

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        if self._handler is None:
            return
        requested = self.requested
        if trainer.world_size > 1:
            requested = trainer.strategy.reduce_boolean_decision(requested, all=False)
        if requested:
            self.requested = False
            self._handler(self.signum, None)

    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if self._handler is not None and signal.getsignal(self.signum) == self._request:
            signal.signal(self.signum, self._handler)
        self._handler = None
