"""Flags mode collapse from the sample-quality metrics (coverage, the rarest class's share) and, if asked, stops."""
import logging

from lightning.pytorch import Callback, LightningModule, Trainer

from genlab.errors import ConfigError
from genlab.runs.rank import global_rank

log = logging.getLogger(__name__)
KEY = "callbacks.collapse_watch"


def require_share(name: str, value) -> None:
    """A threshold is a share in [0, 1], or null (not checked)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1):
        raise ConfigError(f"{KEY}.{name} must be a share in [0, 1] or null, got {value!r}")


class CollapseWatch(Callback):
    """After each validation that measured sample quality (every `every_n_epochs` epochs), counts the validations in a
    row whose `val/coverage` is below `min_coverage` or whose `val/class_min_frac` is below `min_class_share`. From
    `patience` of them on it logs `val/collapsed` = 1 (else 0), warns once in one line, and with `stop_on_collapse` stops;
    the checkpoint callback keeps the best checkpoint. Runs without those metrics are not watched."""

    def __init__(self, min_coverage: float | None = 0.2, min_class_share: float | None = 0.02, patience: int = 3,
                 stop_on_collapse: bool = False, every_n_epochs: int = 1):
        require_share("min_coverage", min_coverage)
        require_share("min_class_share", min_class_share)
        for name, value in (("patience", patience), ("every_n_epochs", every_n_epochs)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{KEY}.{name} must be a whole number >= 1, got {value!r}")
        if not isinstance(stop_on_collapse, bool):
            raise ConfigError(f"{KEY}.stop_on_collapse must be true or false, got {stop_on_collapse!r}")
        self.thresholds = {"val/coverage": min_coverage, "val/class_min_frac": min_class_share}
        self.patience, self.stop_on_collapse, self.every_n_epochs = patience, stop_on_collapse, every_n_epochs
        self.strikes = 0
        self.collapsed = False

    def state_dict(self) -> dict:
        return {"strikes": self.strikes, "collapsed": self.collapsed}  # a resumed run keeps counting

    def load_state_dict(self, state_dict: dict) -> None:
        self.strikes, self.collapsed = state_dict.get("strikes", 0), state_dict.get("collapsed", False)

    def below_thresholds(self, metrics: dict) -> list[str]:
        """`name=value < threshold` for each watched metric present in `metrics` and below its threshold."""
        return [f"{name}={float(metrics[name]):.4g} < {threshold}" for name, threshold in self.thresholds.items()
                if threshold is not None and name in metrics and float(metrics[name]) < threshold]

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        metrics = trainer.callback_metrics
        watched = [name for name, threshold in self.thresholds.items() if threshold is not None and name in metrics]
        if trainer.sanity_checking or not watched or (trainer.current_epoch + 1) % self.every_n_epochs:
            return
        below = self.below_thresholds(metrics)
        self.strikes = self.strikes + 1 if below else 0
        self.collapsed = self.strikes >= self.patience
        for logger in trainer.loggers:
            logger.log_metrics({"val/collapsed": float(self.collapsed)}, step=trainer.global_step)
        if self.strikes != self.patience:  # one warning when the run trips, not one per validation after
            return
        action = ("training stops; the best checkpoint is kept" if self.stop_on_collapse
                  else f"set {KEY}.stop_on_collapse=true to stop such runs")
        if global_rank() == 0:
            log.warning("mode collapse at epoch %d (step %d): %s for %d validations in a row; %s", trainer.current_epoch,
                        trainer.global_step, ", ".join(below), self.strikes, action)
        if self.stop_on_collapse:
            trainer.should_stop = True
