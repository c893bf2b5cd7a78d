"""Builds callbacks, loggers and the Trainer from a composed config, adding the always-on parts."""
from pathlib import Path

from hydra.utils import instantiate
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig, OmegaConf

from genlab.callbacks.checkpoint_metadata import CheckpointMetadata
from genlab.callbacks.compile_networks import CompileNetworks
from genlab.callbacks.final_validation import FinalValidation
from genlab.callbacks.graceful_interrupt import GracefulInterrupt
from genlab.callbacks.requeue_at_batch_end import RequeueAtBatchEnd
from genlab.callbacks.rng_state import RNGState
from genlab.callbacks.step_row import StepRowInCheckpoint
from genlab.compat.lightning import skip_inherited_batch_hooks
from genlab.loggers.run_csv import RunCSVLogger


def plain_config(cfg: DictConfig) -> dict:
    """The resolved config as plain Python containers (what checkpoints and loggers store)."""
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)


def instantiate_group(group: DictConfig | None) -> list:
    """Instantiate every `_target_` entry of a config group dict, skipping entries set to null."""
    if not group:
        return []
    return [instantiate(node, _convert_="all") for node in group.values() if node is not None and "_target_" in node]


def sample_quality(cfg: DictConfig) -> list[Callback]:
    """The `metrics` group's FID/KID/IS/PRDC callback (inactive for models without `sample`), given the run's cache
    dir and seed; none when `metrics.feature_net` is null."""
    if not cfg.metrics.feature_net:
        return []
    return [instantiate(cfg.metrics, cache_dir=cfg.paths.cache_dir, seed=cfg.seed, _convert_="all")]


def build_callbacks(cfg: DictConfig) -> list[Callback]:
    """Configured callbacks, sample-quality metrics, and the always-on final validation, checkpoint metadata, RNG
    state, step row, batch-end requeue and interrupt (after the requeue, so SLURM's SIGTERM stops the same batch)."""
    run_dir = Path(cfg.paths.run_dir)
    return [
        *instantiate_group(cfg.get("callbacks")),
        *sample_quality(cfg),
        *([CompileNetworks()] if cfg.model.get("compile") else []),
        FinalValidation(),
        CheckpointMetadata(config=plain_config(cfg), run_id=cfg.run_id),
        RNGState(),
        StepRowInCheckpoint(),
        RequeueAtBatchEnd(),
        GracefulInterrupt(checkpoint_path=run_dir / "checkpoints" / "last.ckpt"),
    ]


def build_loggers(cfg: DictConfig) -> list[Logger]:
    """The always-on CSV logger (`<run_dir>/metrics.csv`, continued when resuming) plus the configured ones, each
    given the resolved config (wandb's run config, TensorBoard's hparams, MLflow's params)."""
    from genlab.loggers.run_logger import RunLogger

    configured = instantiate_group(cfg.get("logger"))
    config = plain_config(cfg)
    for logger in configured:
        if isinstance(logger, RunLogger):
            logger.log_run_config(config)
    continuing = cfg.get("ckpt_path") and (Path(cfg.paths.run_dir) / "metrics.csv").is_file()  # a requeued SLURM job
    resumed = bool(cfg.get("resume") or continuing)
    return [RunCSVLogger(cfg.paths.run_dir, resumed=resumed), *configured]


def build_trainer(cfg: DictConfig, callbacks: list[Callback], loggers: list[Logger]) -> Trainer:
    """The configured Trainer; in a SLURM job its plugins gain genlab's SLURMEnvironment (see genlab.runs.slurm);
    DDP ranks it starts join this job's run (see genlab.runs.ddp_ranks); its callbacks' inherited no-op batch hooks
    are skipped (see genlab.compat.lightning.skip_inherited_batch_hooks)."""
    from genlab.cpu_bf16 import warn_if_bf16_is_emulated
    from genlab.runs.ddp_ranks import start_ranks_as_job_processes
    from genlab.runs.slurm import slurm_environment

    start_ranks_as_job_processes()

    extra = {}
    if "enable_progress_bar" not in cfg.trainer:  # callbacks.rich_progress_bar=null: no bar, not Lightning's own
        extra["enable_progress_bar"] = any(isinstance(callback, ProgressBar) for callback in callbacks)
    if environment := slurm_environment():  # added to, not replacing, the configured plugins
        extra["plugins"] = [*instantiate(cfg.trainer.get("plugins") or [], _convert_="all"), *environment]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers, **extra, _convert_="all")
    skip_inherited_batch_hooks(trainer.callbacks)  # with Lightning's defaults it added
    warn_if_bf16_is_emulated(trainer)
    return trainer
