"""genlab-train: fit (and test) one run. Heavy imports live inside `train` so --help stays instant."""
import contextlib
import os
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from genlab.cli.app import run_app
from genlab.config.validate import validate_config
from genlab.runs.rank import global_rank
from genlab.runs.run_info import RunRecorder
from genlab.runs.run_lock import hold_run_dir, release_run_dir
from genlab.runs.sweep_resume import completed_job_metrics


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit (and test) one run, holding its run dir for the run's life; return its final metrics (sweepers read
    `optimized_metric`)."""
    if (metrics := completed_job_metrics(cfg)) is not None:
        return metrics  # a resumed sweep's job that already completed: its run stays as it is
    validate_config(cfg)
    if cfg.get("init_from"):
        check_initial_checkpoint(cfg)
    run_dir = Path(cfg.paths.run_dir)
    hold_run_dir(run_dir)
    try:
        return fit_and_test(cfg, run_dir)
    finally:
        release_run_dir(run_dir)


def check_initial_checkpoint(cfg: DictConfig) -> None:
    """init_from's checkpoint loads safely and fits this config's model overrides: checked before the run's dir gets a
    run_info.json."""
    from genlab.init_from import InitialCheckpoint  # torch: once the config is known to be valid

    InitialCheckpoint(cfg.init_from).model_config(cfg, list(HydraConfig.get().overrides.task))


def fit_and_test(cfg: DictConfig, run_dir: Path) -> dict[str, float]:
    """Build data and model and check them (data errors come before the config tree), then fit and test. A fresh run
    is recorded from its start (an error while building marks it failed); a resumed run only once its checkpoint is
    known to fit, so a refused resume leaves the run as it was."""
    import torch
    from lightning.pytorch import seed_everything

    from genlab.builders import build_callbacks, build_loggers, build_trainer
    from genlab.callbacks.sample_quality import measurement_protocols
    from genlab.loggers.finish import finish_loggers
    from genlab.cli.config_tree import print_config_tree
    from genlab.metrics.scalars import scalar_metrics
    from genlab.runs.ddp_ranks import job_process_group

    seed_everything(cfg.seed, workers=True)
    if cfg.float32_matmul_precision:
        torch.set_float32_matmul_precision(cfg.float32_matmul_precision)
    os.environ["GENLAB_RUN_ID"] = cfg.run_id  # DDP child processes reuse this run's id and dir
    overrides = list(HydraConfig.get().overrides.task)
    run = RunRecorder(run_dir, cfg.run_id, cfg.task_name, overrides, enabled=global_rank() == 0)
    with contextlib.ExitStack() as recording:
        datamodule, model, initial = build_modules(cfg, overrides)  # a bad model value fails here, nothing written
        if not cfg.get("resume"):
            recording.enter_context(run)
        ckpt_path = prepare_checked(cfg, datamodule, model, initial)
        if cfg.get("resume"):
            recording.enter_context(run)
        if initial is not None:
            run.update(init_from=initial.record)
        if global_rank() == 0:
            print_config_tree(cfg, save_to=run_dir / "config_tree.log")
        trainer = build_trainer(cfg, build_callbacks(cfg), build_loggers(cfg))
        with job_process_group():
            try:
                if cfg.train:
                    fit(trainer, model, datamodule, ckpt_path)
                    ckpt_path = best_checkpoint(trainer)
                metrics = scalar_metrics(trainer.callback_metrics)
                if cfg.test:
                    trainer.test(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
                    metrics |= scalar_metrics(trainer.callback_metrics)
            finally:
                finish_loggers(trainer.loggers)
        run.update(final_metrics=metrics, metrics_protocol=measurement_protocols(trainer.callbacks))
    if global_rank() == 0:
        print(f"genlab-train: run {run.info['status']}; its files are in {run_dir}")
    return metrics


def build_modules(cfg: DictConfig, overrides: list[str]):
    """(datamodule, model, init_from's checkpoint or None), built before the run writes anything; with
    init_from, the model built to the checkpoint's architecture (`cfg.model` updated, so the run's checkpoints record
    it) and its tokenizer given to the data."""
    from hydra.utils import instantiate
    from omegaconf import open_dict

    from genlab.models.build import instantiate_model

    datamodule = instantiate(cfg.data, _convert_="all")
    initial = None
    if cfg.get("init_from"):
        from genlab.init_from import InitialCheckpoint

        initial = InitialCheckpoint(cfg.init_from)
        with open_dict(cfg):
            cfg.model = initial.model_config(cfg, overrides)
        initial.prepare_data(datamodule)
    return datamodule, instantiate_model(cfg.model), initial


def prepare_checked(cfg: DictConfig, datamodule, model, initial) -> str | None:
    """The checkpoint to fit from, with the data set up (bad or missing data fails here, in one line; fit reuses what
    it loaded); resuming, the checkpoint checked against this config's data and model (rank 0); with init_from, the
    checkpoint's weights loaded."""
    from genlab.checkpoints import check_resume_fits, resume_checkpoint

    ckpt_path = resume_checkpoint(cfg)
    if cfg.get("resume") and ckpt_path:
        from genlab.init_from import reuse_tokenizer_on_resume

        reuse_tokenizer_on_resume(datamodule, ckpt_path)
    if global_rank() == 0:
        datamodule.prepare_data()
    datamodule.setup("fit")
    if initial is not None:
        initial.load_into(model, datamodule)
    if global_rank() == 0 and cfg.get("resume") and ckpt_path:
        check_resume_fits(cfg, datamodule, model, Path(ckpt_path))
        if not Path(ckpt_path).name.startswith("last"):
            print(f"resume={cfg.resume}: no last.ckpt (killed during its first save?); resuming from {ckpt_path}")
    return ckpt_path


def task(cfg: DictConfig) -> float | None:
    """Hydra task: run `train` and hand sweepers the optimized metric."""
    metrics = train(cfg)
    return metrics.get(cfg.optimized_metric) if cfg.optimized_metric else None



def fit(trainer, model, datamodule, ckpt_path: str | None) -> None:
    """trainer.fit, turning a handled SIGINT/SIGTERM into RunInterrupted (Lightning exits 0 on SIGTERM, and 1 on the
    KeyboardInterrupt of a second Ctrl+C)."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from genlab.callbacks.graceful_interrupt import GracefulInterrupt

    interrupt = next(cb for cb in trainer.callbacks if isinstance(cb, GracefulInterrupt))
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    except SIGTERMException:
        interrupt.received = interrupt.received or 15
    except SystemExit:
        if not interrupt.forced:
            raise
    interrupt.raise_if_interrupted()


def best_checkpoint(trainer) -> str | None:
    """The best checkpoint ModelCheckpoint kept this run, if any (else test the weights in memory)."""
    callback = trainer.checkpoint_callback
    return (callback.best_model_path or None) if callback is not None else None

def main() -> None:
    run_app("train", task)


if __name__ == "__main__":
    main()
