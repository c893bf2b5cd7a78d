"""TensorBoard for genlab: at the end of the job the run's config and final metrics go to the HPARAMS tab."""
from argparse import Namespace

from lightning.fabric.utilities.logger import _convert_params
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only

from genlab.builders import scalar_metrics
from genlab.loggers.run_logger import RunLogger, flat_params


class TensorBoardRun(RunLogger, TensorBoardLogger):
    """Lightning's TensorBoardLogger that remembers the last value of every scalar it logs, and when the job ends
    writes the flattened config as hparams with those scalars as the metrics, so runs compare side by side."""

    def __init__(self, save_dir: str, name: str | None = "", version: str | int | None = "", **kwargs):
        super().__init__(save_dir=save_dir, name=name, version=version, default_hp_metric=False, **kwargs)
        self.run_params: dict = {}
        self.final_metrics: dict[str, float] = {}
        self.last_step = 0

    def log_run_config(self, config: dict) -> None:
        self.run_params = flat_params(config)

    @rank_zero_only
    def log_hyperparams(self, params: dict | Namespace, metrics: dict | None = None, step: int | None = None) -> None:
        """Hyper-parameters logged during the run (e.g. `metrics/feature_net`, the FID network's id) join the
        config's in the HPARAMS tab, replacing a config value of the same key."""
        super().log_hyperparams(params, metrics, step)
        self.run_params |= flat_params(_convert_params(params))

    @rank_zero_only
    def log_metrics(self, metrics: dict, step: int | None = None) -> None:
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

        writer = self.experiment._get_file_writer()
        for summary in hparams(self.run_params, self.final_metrics):
            writer.add_summary(summary, self.last_step)
        self.experiment.flush()
