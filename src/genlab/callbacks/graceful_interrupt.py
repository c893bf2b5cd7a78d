"""On SIGINT/SIGTERM: finish the current batch, save `checkpoints/last.ckpt`, stop; the run is `interrupted`."""
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
            trainer.should_stop = True

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        if self.received is not None and not self.forced:  # a forced stop left the batch half done: not saved
            self._save(trainer)

    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def raise_if_interrupted(self) -> None:
        """Call after fit: turns a handled signal into RunInterrupted (exit non-zero, status `interrupted`)."""
        if self.forced:
            kept = (f"its last checkpoint {self.checkpoint_path} is kept" if self.checkpoint_path.is_file()
                    else "it had saved no checkpoint yet")
            raise RunInterrupted(f"stopped at once by a second SIGINT, mid-batch; {kept}")
        if self.received is not None:
            name = signal.Signals(self.received).name
            raise RunInterrupted(f"stopped by {name}; checkpoint saved to {self.checkpoint_path}")
