"""TensorBoard for genlab: at the end of the job the run's config and final metrics go to the HPARAMS tab; a resumed
run writes new event files into the same dir, hiding the old events logged after the checkpoint it resumed from."""
from argparse import Namespace
from pathlib import Path

from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only

from genlab.compat.lightning import convert_params
from genlab.compat.torch_internals import tensorboard_file_writer
from genlab.loggers.run_logger import RunLogger, flat_params
from genlab.metrics.scalars import scalar_metrics


class TensorBoardRun(RunLogger, TensorBoardLogger):
    """Lightning's TensorBoardLogger that remembers the last value of every scalar it logs, and when the job ends
    writes the flattened config as hparams with those scalars as the metrics, so runs compare side by side.
    In a dir that already holds event files (a resumed run), the first step written marks a restart: TensorBoard then
    drops the old events logged after the checkpoint the run resumed from, as metrics.csv drops its rows."""

    def __init__(self, save_dir: str, name: str | None = "", version: str | int | None = "", **kwargs):
        super().__init__(save_dir=save_dir, name=name, version=version, default_hp_metric=False, **kwargs)
        self.run_params: dict = {}
        self.final_metrics: dict[str, float] = {}
        self.last_step = 0
        self.earlier_event_files = list(Path(self.log_dir).glob("events.out.tfevents.*"))
        self.restart_pending = bool(self.earlier_event_files)

    def log_run_config(self, config: dict) -> None:
        self.run_params = flat_params(config)

    @rank_zero_only
    def log_hyperparams(self, params: dict | Namespace, metrics: dict | None = None, step: int | None = None) -> None:
        """Hyper-parameters logged during the run (e.g. `metrics/feature_net`, the FID network's id) join the
        config's in the HPARAMS tab, replacing a config value of the same key."""
        super().log_hyperparams(params, metrics, step)
        self.run_params |= flat_params(convert_params(params))

    @rank_zero_only
    def mark_restart(self, step: int | None) -> None:
        """Before the first event of a resumed run, at its first `step`: when the old event files hold events logged
        after the checkpoint (scalars at `step` or later, anything later than `step`), a SessionLog START at `step`
        (what SummaryWriter's purge_step writes) makes TensorBoard drop them. Sample grids and texts at `step` itself
        were logged when the checkpointed epoch ended (at `trainer.global_step`, one past the last batch's metrics
        step) and are written again after the START, which would drop them too."""
        if not self.restart_pending or step is None:
            return
        self.restart_pending = False
        later = [event for event in self.old_events() if event.step >= step and event.HasField("summary")]
        kept = [event for event in later if event.step == step and not is_scalar(event)]
        if len(kept) == len(later):
            return  # the run stopped at its checkpoint: nothing to drop
        from tensorboard.compat.proto.event_pb2 import Event, SessionLog

        writer = tensorboard_file_writer(self.experiment)
        for _ in range(2):  # TensorBoard's Python loader takes a run's first START for its start, not a restart
            writer.add_event(Event(step=step, session_log=SessionLog(status=SessionLog.START)))
        for event in kept:
            writer.add_event(event)

    def old_events(self):
        """The events of the files this run's earlier sessions wrote."""
        from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader

        for path in sorted(self.earlier_event_files):
            yield from LegacyEventFileLoader(str(path)).Load()  # as written (not migrated to tensors)

    @rank_zero_only
    def log_metrics(self, metrics: dict, step: int | None = None) -> None:
        self.mark_restart(step)
        super().log_metrics(metrics, step)
        self.final_metrics |= {name: value for name, value in scalar_metrics(metrics).items() if name != "epoch"}
        self.last_step = step if step is not None else self.last_step

    @rank_zero_only
    def finish_run(self) -> None:
        """Write the hparams session. Its metrics name the scalar tags already logged, whose last values TensorBoard
        shows: Lightning's log_hyperparams(params, metrics) would log them again at step 0, and TensorBoard drops
        the points after an out-of-order step."""
        if not self.final_metrics:
            return
        from torch.utils.tensorboard.summary import hparams

        writer = tensorboard_file_writer(self.experiment)
        for summary in hparams(self.run_params, self.final_metrics):
            writer.add_summary(summary, self.last_step)
        self.experiment.flush()


def is_scalar(event) -> bool:
    """A summary event holding only scalars (not an image, text or hparams)."""
    return all(value.HasField("simple_value") or value.metadata.plugin_data.plugin_name == "scalars"
               for value in event.summary.value)
