"""wandb for genlab: offline unless `logger.wandb.mode=online`, the run id is genlab's run_id (a resumed run goes on
in the same wandb run), a sweep's jobs share one group, and the resolved config is the run's config."""
import sys

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from genlab.compat.lightning import created_experiment, set_experiment, wandb_init_arguments
from genlab.checks import choice
from genlab.config.validate import WANDB_MODES
from genlab.loggers import run_naming
from genlab.loggers.run_logger import RunLogger


class WandbRun(RunLogger, WandbLogger):
    """Lightning's WandbLogger with wandb's own `mode` (offline | online | disabled), names from the overrides and
    a one-line `wandb sync` hint when an offline run ends. `name`/`group` null: derived (see genlab.loggers.run_naming)."""

    def __init__(
        self,
        save_dir: str,
        project: str,
        id: str,
        mode: str = "offline",
        name: str | None = None,
        group: str | None = None,
        job_type: str | None = "train",
        tags: list[str] | None = None,
        log_model: bool | str = False,
        **init_kwargs,
    ):
        choice("logger.wandb.mode", mode, WANDB_MODES)
        # wandb.init(mode=...) rather than Lightning's offline=True, which sets WANDB_MODE for the whole process.
        super().__init__(
            save_dir=save_dir, project=project, id=id, mode=mode, log_model=log_model, job_type=job_type, tags=tags,
            name=name if name is not None else run_naming.run_name(run_naming.job_overrides(), fallback=id),
            group=group if group is not None else run_naming.sweep_group(save_dir),
            settings=init_kwargs.pop("settings", {"quiet": True}),  # genlab prints its own sync hint at the end
            **init_kwargs,
        )
        wandb_init_arguments(self).pop("anonymous", None)  # Lightning's default None only makes wandb warn
        self.mode = mode
        self.failed = False

    @property
    @rank_zero_experiment
    def experiment(self):
        if created_experiment(self) is None and self.mode != "online":
            import wandb

            # wandb's usage analytics follow the process-wide mode, not wandb.init's: without this an offline run
            # still posts to the W&B server (WANDB_BASE_URL) when the process exits.
            wandb.setup(wandb.Settings(mode=self.mode))
        return super().experiment

    def log_run_config(self, config: dict) -> None:
        if created_experiment(self) is None:
            wandb_init_arguments(self)["config"] = config
        else:
            self.experiment.config.update(config, allow_val_change=True)

    def finalize(self, status: str) -> None:
        self.failed = self.failed or status == "failed"
        super().finalize(status)

    @rank_zero_only
    def finish_run(self) -> None:
        """Finish the wandb run (else the next job of a multirun would reuse it) and say how to upload it."""
        run = created_experiment(self)
        set_experiment(self, None)
        if run is None:
            return
        run.finish(exit_code=1 if self.failed else 0)
        if self.mode == "offline":
            sync_dir = run.settings.sync_dir
            print(f"wandb: offline run saved in {sync_dir}; upload with: wandb sync {sync_dir}", file=sys.stderr)
