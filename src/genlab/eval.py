"""genlab-eval: test a checkpoint on its stored data split; `ckpt_path=` is all it needs."""
from pathlib import Path

from omegaconf import DictConfig

from genlab.cli.app import run_app
from genlab.config.validate import validate_config
from genlab.checks import choice

SPLITS = ("test", "val")


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Rebuild data and model from the checkpoint (plus overrides), run the split, write eval_metrics.json."""
    validate_config(cfg)
    choice("split", cfg.split, SPLITS)
    from hydra.utils import instantiate
    from lightning.pytorch import seed_everything

    from genlab.builders import build_trainer, sample_quality
    from genlab.callbacks.sample_quality import measurement_protocols
    from genlab.callbacks.progress_bar import ThrottledRichProgressBar
    from genlab.checkpoints import build_module, config_from_checkpoint
    from genlab.metrics.scalars import scalar_metrics
    from genlab.data.tokenizers import use_stored_tokenizer
    from genlab.loggers.run_csv import RunCSVLogger
    from genlab.runs.atomic import write_json_atomic

    checkpoint, config = config_from_checkpoint(cfg)
    seed_everything(config.seed, workers=True)
    datamodule = instantiate(config.data, _convert_="all")
    use_stored_tokenizer(datamodule, checkpoint.get("genlab", {}))  # an LM reads any text in its own vocabulary
    model = build_module(config.model, checkpoint, cfg.ckpt_path)
    run_dir = Path(cfg.paths.run_dir)
    split = evaluated_split(datamodule, cfg.split)
    trainer = build_trainer(config, [*sample_quality(config), ThrottledRichProgressBar()], [RunCSVLogger(str(run_dir))])
    run = trainer.test if split == "test" else trainer.validate
    run(model, datamodule=datamodule)
    metrics = scalar_metrics(trainer.callback_metrics)
    write_json_atomic(run_dir / "eval_metrics.json", {"ckpt_path": str(cfg.ckpt_path), "split": split, "metrics": metrics,
                                                      "metrics_protocol": measurement_protocols(trainer.callbacks)})
    print(f"evaluated {cfg.ckpt_path} on the {split} split; metrics in {run_dir / 'eval_metrics.json'}")
    return metrics


def evaluated_split(datamodule, requested: str) -> str:
    """`requested`, except the validation split when the data has no test split (e.g. text without test_fraction)."""
    datamodule.setup("test")
    if requested == "test" and not getattr(datamodule, "has_test_split", True):
        print("the data has no test split (data.test_fraction=0): evaluating the validation split instead")
        return "val"
    return requested


def main() -> None:
    run_app("eval", evaluate)


if __name__ == "__main__":
    main()
