"""genlab-train: fit (and test) one run. Heavy imports live inside `train` so --help stays instant."""
import os
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from genlab.cli.app import run_app
from genlab.config.validate import validate_config
from genlab.runs.rank import global_rank
from genlab.runs.run_info import RunRecorder
from genlab.runs.sweep_resume import completed_job_metrics


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit (and test) one run; return its final metrics (sweepers read `optimized_metric`)."""
    if (metrics := completed_job_metrics(cfg)) is not None:
        return metrics  # a resumed sweep's job that already completed: its run stays as it is
    validate_config(cfg)
    run_dir = Path(cfg.paths.run_dir)
    os.environ["GENLAB_RUN_ID"] = cfg.run_id  # DDP child processes reuse this run's id and dir
    overrides = list(HydraConfig.get().overrides.task)
    with RunRecorder(run_dir, cfg.run_id, cfg.task_name, overrides, enabled=global_rank() == 0) as run:
        import torch
        from hydra.utils import instantiate
        from lightning.pytorch import seed_everything

        from genlab.builders import best_checkpoint, build_callbacks, build_loggers, build_trainer, finish_loggers
        from genlab.builders import fit, scalar_metrics
        from genlab.checkpoints import resume_checkpoint
        from genlab.cli.config_tree import print_config_tree
        from genlab.models.build import instantiate_model
        from genlab.runs.ddp_ranks import job_process_group

        if global_rank() == 0:
            print_config_tree(cfg, save_to=run_dir / "config_tree.log")
        seed_everything(cfg.seed, workers=True)
        if cfg.float32_matmul_precision:
            torch.set_float32_matmul_precision(cfg.float32_matmul_precision)
        datamodule = instantiate(cfg.data, _convert_="all")
        model = instantiate_model(cfg.model)
        trainer = build_trainer(cfg, build_callbacks(cfg), build_loggers(cfg))
        ckpt_path = resume_checkpoint(cfg)
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
        run.update(final_metrics=metrics)
    return metrics


def task(cfg: DictConfig) -> float | None:
    """Hydra task: run `train` and hand sweepers the optimized metric."""
    metrics = train(cfg)
    return metrics.get(cfg.optimized_metric) if cfg.optimized_metric else None


def main() -> None:
    run_app("train", task)


if __name__ == "__main__":
    main()
