"""Value checks that run before torch/Lightning are imported, so bad input fails in well under a second."""
import importlib.util
from dataclasses import fields

from omegaconf import DictConfig, OmegaConf

from genlab.config.schema import EvalConfig, SampleConfig, TrainConfig
from genlab.errors import ConfigError

KNOWN_TOP_LEVEL_KEYS = {field.name for schema in (TrainConfig, EvalConfig, SampleConfig) for field in fields(schema)}

POSITIVE_KEYS = (
    "metrics.num_samples",
    "metrics.every_n_epochs",
    "num_samples",
    "max_new_tokens",
    "data.batch_size",
    "data.block_size",
    "data.image_size",
    "model.lr",
    "model.lr_d",
    "model.latent_dim",
    "model.g_width",
    "model.d_width",
)
GPU_ONLY_PRECISIONS = ("16", "16-mixed", "16-true")
WANDB_MODES = ("offline", "online", "disabled")


def require_positive(cfg: DictConfig, key: str) -> None:
    """Raise ConfigError naming `key` when it is set but not a positive number."""
    value = OmegaConf.select(cfg, key, default=None)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{key} must be a positive number, got {value!r}")


def check_gpu_only(cfg: DictConfig) -> None:
    """16-bit precision and FSDP need a GPU: on CPU Lightning would silently turn 16-mixed into bf16."""
    precision = str(OmegaConf.select(cfg, "trainer.precision", default="32"))
    strategy = str(OmegaConf.select(cfg, "trainer.strategy", default="auto"))
    needs_gpu = [f"trainer.precision={precision}"] if precision in GPU_ONLY_PRECISIONS else []
    needs_gpu += [f"trainer.strategy={strategy}"] if strategy.startswith("fsdp") else []
    if not needs_gpu:
        return
    accelerator = str(OmegaConf.select(cfg, "trainer.accelerator", default="auto"))
    if accelerator == "cpu" or not cuda_available():
        reason = "trainer.accelerator=cpu" if accelerator == "cpu" else "no CUDA device is available"
        raise ConfigError(
            f"{needs_gpu[0]} needs a GPU ({reason}); on CPU use trainer.precision=32-true or bf16-mixed "
            "and trainer=default, cpu or ddp_cpu"
        )


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (imports torch: only asked for GPU-only settings)."""
    import torch

    return torch.cuda.is_available()


def check_resume(cfg: DictConfig) -> None:
    """`ckpt_path=last` means the last checkpoint of the run named by `resume=<run_dir>`."""
    if cfg.get("ckpt_path") == "last" and not cfg.get("resume"):
        raise ConfigError("ckpt_path=last needs resume=<run_dir> naming the run to continue")


def check_known_keys(cfg: DictConfig) -> None:
    """Top-level keys added with `+key=...` must still be keys genlab knows."""
    unknown = sorted(set(cfg.keys()) - KNOWN_TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(f"unknown config key '{unknown[0]}'; top-level keys are: {', '.join(sorted(KNOWN_TOP_LEVEL_KEYS))}")


def require_choice(key: str, value, choices: tuple[str, ...]) -> None:
    """Raise ConfigError naming `key` when `value` is not one of `choices`."""
    if value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}, got {value!r}")


def require_mlflow() -> None:
    """MLflow is an optional extra: say how to install it."""
    if importlib.util.find_spec("mlflow") is None:
        raise ConfigError(
            "logger=mlflow needs the optional extra: pip install 'genlab[mlflow]' (MLflow is not installed)")


def check_loggers(cfg: DictConfig) -> None:
    """The dashboards' settings that would otherwise fail only when the first metric is logged."""
    loggers = cfg.get("logger") or {}
    wandb = loggers.get("wandb")
    if wandb and "mode" in wandb:
        require_choice("logger.wandb.mode", wandb.mode, WANDB_MODES)
    if loggers.get("mlflow"):
        require_mlflow()


def validate_config(cfg: DictConfig) -> None:
    """Fail fast, with one line naming the key, on values no model or dataset can use."""
    check_known_keys(cfg)
    for key in POSITIVE_KEYS:
        require_positive(cfg, key)
    check_gpu_only(cfg)
    check_resume(cfg)
    check_loggers(cfg)
