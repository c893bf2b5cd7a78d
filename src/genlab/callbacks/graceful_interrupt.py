"""On SIGINT/SIGTERM: finish the current batch, save `checkpoints/last.ckpt`, stop; the run is `interrupted`.

The stop is an exception raised right after that save, not `trainer.should_stop`: Lightning answers should_stop with
one more validation (its early-stopping path), whose metrics and checkpoint a stopping job has no time for, and
whose end-of-validation save would replace this batch-end checkpoint with one Lightning resumes a logger step behind.
"""
import signal
from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer

from genlab.errors import GenlabError


class RunInterrupted(GenlabError):
    """Raised after fit when a stop signal ended training early."""


class GracefulInterrupt(Callback):
    """Turns a stop signal into a clean stop at the next batch boundary, with a checkpoint."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, checkpoint_path: Path):
        self.checkpoint_path = Path(checkpoint_path)
        self.received: int | None = None
        self.forced = False  # a second Ctrl+C: stopped at once, mid-batch, with nothing saved
        self.saved = False
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if self.received is not None and signum == signal.SIGINT:
            self.forced = True
            raise KeyboardInterrupt  # a second Ctrl+C stops at once
        self.received = signum

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        try:
            self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        except ValueError:  # not in the main thread (e.g. some launchers): leave signals alone
            self._previous = {}

    def _save(self, trainer: Trainer) -> None:
        if not self.saved:
            trainer.save_checkpoint(self.checkpoint_path)
            self.saved = True

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        if self.received is not None:
            self._save(trainer)
            raise self.interruption()

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        if self.received is not None and not self.forced:  # a forced stop left the batch half done: not saved
            self._save(trainer)

    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def interruption(self) -> RunInterrupted:
        """The error a handled signal ends the run with (exit non-zero, status `interrupted`)."""
        if self.forced:
            kept = (f"its last checkpoint {self.checkpoint_path} is kept" if self.checkpoint_path.is_file()
                    else "it had saved no checkpoint yet")
            return RunInterrupted(f"stopped at once by a second SIGINT, mid-batch; {kept}")
        return RunInterrupted(f"stopped by {signal.Signals(self.received).name}; checkpoint saved to "
                              f"{self.checkpoint_path}")

    def raise_if_interrupted(self) -> None:
        """Call after fit: turns a signal handled outside a batch (Lightning's own SIGTERM stop) into RunInterrupted."""
        if self.forced or self.received is not None:
            raise self.interruption()
