"""Value checks of the run's settings (paths, lengths, metrics, loggers, resume) that run before torch/Lightning are
imported, so bad input fails in well under a second. A model's own values are checked by the model when it is built
(with genlab.checks), still before the run writes anything.

Only settings that need torch anyway import it here: GPU-only settings (is CUDA there?) and `resume=` (is its
checkpoint safe, and does it fit this config?), both checked before the run's files are touched."""
import importlib.util
from dataclasses import fields
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from genlab.checks import choice, path_name, positive
from genlab.config.arguments import check_group_arguments, close_names
from genlab.config.schema import SCHEMAS, TrainConfig
from genlab.errors import ConfigError
from genlab.runs.liveness import run_status
from genlab.runs.rank import global_rank
from genlab.runs.run_info import read_run_info
from genlab.runs.sweep_resume import is_sweep_dir


POSITIVE_KEYS = (
    "metrics.num_samples",
    "metrics.every_n_epochs",
    "metrics.prdc_k",
    "num_samples",
    "max_new_tokens",
    "data.batch_size",
    "data.block_size",
    "data.image_size",
    "data.vocab_size",
    "data.train_batches_per_epoch",
)
GPU_ONLY_PRECISIONS = ("16", "16-mixed", "16-true")
GPU_ACCELERATORS = ("gpu", "cuda")
WANDB_MODES = ("offline", "online", "disabled")
TOKENIZER_KINDS = ("char", "bpe")
MATMUL_PRECISIONS = ("highest", "high", "medium")  # torch.set_float32_matmul_precision's


def require_positive(cfg: DictConfig, key: str) -> None:
    """Raise ConfigError naming `key` when it is set but not a positive number."""
    value = OmegaConf.select(cfg, key, default=None)
    if value is not None:
        positive(key, value)


def check_gpu_only(cfg: DictConfig) -> None:
    """16-bit precision and FSDP need a GPU: on CPU Lightning would silently turn 16-mixed into bf16."""
    precision = str(OmegaConf.select(cfg, "trainer.precision", default="32"))
    strategy = str(OmegaConf.select(cfg, "trainer.strategy", default="auto"))
    needs_gpu = [f"trainer.precision={precision}"] if precision in GPU_ONLY_PRECISIONS else []
    needs_gpu += [f"trainer.strategy={strategy}"] if strategy.startswith("fsdp") else []
    accelerator = str(OmegaConf.select(cfg, "trainer.accelerator", default="auto"))
    needs_gpu += [f"trainer.accelerator={accelerator}"] if accelerator in GPU_ACCELERATORS else []
    if not needs_gpu:
        return
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
    """`ckpt_path=last` means the last checkpoint of the run named by `resume=<run_dir>`; that checkpoint must
    load safely and fit this config before the run's files (run_info.json, metrics.csv) are touched."""
    if cfg.get("ckpt_path") == "last" and not cfg.get("resume"):
        raise ConfigError("ckpt_path=last needs resume=<run_dir> naming the run to continue")
    if cfg.get("resume"):
        from genlab.checkpoints import check_resumable

        check_not_running(cfg.resume)
        check_resumable(cfg)


def check_init_from(cfg: DictConfig) -> None:
    """init_from starts a new run from a checkpoint, not with resume= (genlab.init_from checks the checkpoint itself).
    LoRA adapters need a base."""
    init_from, rank = cfg.get("init_from"), OmegaConf.select(cfg, "model.lora.rank", default=None)
    if init_from and cfg.get("resume"):
        raise ConfigError("init_from starts a new run from a checkpoint's weights and resume= continues a run: give one")
    if rank and not init_from and not cfg.get("resume"):
        raise ConfigError(f"model.lora.rank={rank} trains adapters on a pretrained model's frozen weights: give "
                          "init_from=<checkpoint or run dir>")


def check_not_running(resume: str) -> None:
    """A run is resumed only once its process is gone (DDP ranks > 0 join their own rank 0's run)."""
    if global_rank() != 0 or is_sweep_dir(resume):
        return
    info = read_run_info(Path(resume))
    if run_status(info)[0] == "running":
        raise ConfigError(
            f"resume={resume}: the run is still running (pid {info.get('pid')} on {info.get('host')}); stop it first")


def check_prdc_neighbours(cfg: DictConfig) -> None:
    """Each sample needs k other samples to have a k-NN ball: metrics.num_samples must exceed metrics.prdc_k."""
    k, count = (OmegaConf.select(cfg, f"metrics.{key}", default=None) for key in ("prdc_k", "num_samples"))
    if isinstance(k, int) and isinstance(count, int) and count <= k:
        raise ConfigError(f"metrics.prdc_k={k} needs metrics.num_samples > {k} (each sample's k-NN ball), got {count}")


def check_inception(cfg: DictConfig) -> None:
    """metrics.feature_net=inception: checked with the config, before the run starts."""
    if OmegaConf.select(cfg, "metrics.feature_net", default=None) == "inception":
        require_inception(OmegaConf.select(cfg, "metrics.inception_weights", default=None))


def require_inception(weights: str | None) -> None:
    """Inception FID needs its weights file (when named: offline machines) and the optional extra."""
    if weights and not Path(weights).is_file():
        raise ConfigError(f"metrics.inception_weights={weights}: file not found (download pt_inception-2015-12-05 there)")
    if importlib.util.find_spec("torch_fidelity") is None:
        raise ConfigError(
            "metrics.feature_net=inception needs the optional extra: pip install 'genlab[inception]' "
            "(torch-fidelity with a working torchvision); or use metrics.feature_net=classifier"
        )


def check_secrets(cfg: DictConfig) -> None:
    """Refuse a config holding a secret: runs write their config to .hydra/, run_info.json, checkpoints and dashboards."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf.errors import OmegaConfBaseException

    from genlab.runs.secrets import find_secret, redact_files

    hydra = HydraConfig.get() if HydraConfig.initialized() else None
    overrides = OmegaConf.to_container(hydra.overrides, resolve=False) if hydra else {}
    try:
        config = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    except OmegaConfBaseException:  # an unresolvable key fails later with its own message
        config = OmegaConf.to_container(cfg, resolve=False)
    found = find_secret(config, [*overrides.get("task", []), *overrides.get("hydra", [])])
    if found is None:
        return
    if hydra:  # Hydra has already saved the command line in the run's .hydra/ (and a sweep's multirun.yaml)
        from hydra.types import RunMode

        saved = [*Path(hydra.runtime.output_dir, hydra.output_subdir or ".hydra").glob("*.yaml")]
        sweep = [Path(hydra.sweep.dir, "multirun.yaml")] if hydra.mode == RunMode.MULTIRUN else []
        redact_files(saved + sweep)
    key, env_name = found
    source = f"the value of the secret environment variable {env_name}" if env_name else "a secret (its name says so)"
    raise ConfigError(
        f"{key} holds {source}; genlab keeps secrets out of configs, which runs write to .hydra/, run_info.json, "
        "checkpoints and dashboards: leave it in the environment, where the library that needs it reads it"
    )


def check_known_keys(cfg: DictConfig) -> None:
    """Top-level keys added with `+key=...` must still be keys of this command (its schema)."""
    schema = OmegaConf.get_type(cfg)
    known = {field.name for field in fields(schema)} if schema in SCHEMAS.values() else set(cfg.keys())
    unknown = sorted(set(cfg.keys()) - known)
    if unknown:
        raise ConfigError(f"unknown config key '{unknown[0]}'; top-level keys are: {', '.join(sorted(known))}"
                          f"{close_names(unknown[0], known)}")


def check_run_names(cfg: DictConfig) -> None:
    """task_name and run_id name directories under paths.output_dir (and dashboard runs): plain names only."""
    for key in ("task_name", "run_id"):
        if OmegaConf.select(cfg, key, default=None) is not None:
            path_name(key, cfg[key])


def check_training_length(cfg: DictConfig) -> None:
    """A run that would train nothing, or forever, fails here instead of "completing" untrained or never ending."""
    trainer = cfg.get("trainer")
    if not cfg.get("train", False) or not OmegaConf.is_dict(trainer) or trainer.get("fast_dev_run"):
        return
    max_steps, max_epochs = trainer.get("max_steps", -1), trainer.get("max_epochs")
    if isinstance(max_steps, int) and not isinstance(max_steps, bool) and (max_steps == 0 or max_steps < -1):
        raise ConfigError(f"trainer.max_steps must be a positive number of steps, or -1 for no step limit, got {max_steps}")
    if isinstance(max_epochs, int) and not isinstance(max_epochs, bool) and (max_epochs == 0 or max_epochs < -1):
        raise ConfigError(f"trainer.max_epochs must be a positive number of epochs, or -1 for no epoch limit, got {max_epochs}")
    if max_epochs == -1 and max_steps == -1 and not trainer.get("max_time"):
        raise ConfigError("trainer.max_epochs=-1 with trainer.max_steps=-1 trains forever: set trainer.max_steps, "
                          "trainer.max_epochs >= 1 or trainer.max_time")


def check_checkpoint_interval(cfg: DictConfig) -> None:
    """Lightning saves by steps, epochs or time, one of them: say which key to clear instead of its exception."""
    checkpoint = OmegaConf.select(cfg, "callbacks.model_checkpoint", default=None)
    if not OmegaConf.is_dict(checkpoint):
        return
    intervals = [key for key in ("every_n_train_steps", "every_n_epochs", "train_time_interval") if checkpoint.get(key)]
    if len(intervals) > 1:
        first, second = intervals[:2]
        raise ConfigError(
            f"callbacks.model_checkpoint.{first}={checkpoint[first]} and {second}={checkpoint[second]} exclude each "
            f"other: add callbacks.model_checkpoint.{second}=null to keep {first}")


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
        choice("logger.wandb.mode", wandb.mode, WANDB_MODES)
    if loggers.get("mlflow"):
        require_mlflow()


def validate_config(cfg: DictConfig) -> None:
    """Fail fast, with one line naming the key, on values no model or dataset can use."""
    check_known_keys(cfg)
    check_run_names(cfg)
    check_secrets(cfg)
    for key in POSITIVE_KEYS:
        require_positive(cfg, key)
    check_training_length(cfg)
    check_checkpoint_interval(cfg)
    check_prdc_neighbours(cfg)
    if (tokenizer := OmegaConf.select(cfg, "data.tokenizer", default=None)) is not None:
        choice("data.tokenizer", tokenizer, TOKENIZER_KINDS)
    if (precision := cfg.get("float32_matmul_precision")) is not None:
        choice("float32_matmul_precision", precision, MATMUL_PRECISIONS)
    check_inception(cfg)
    check_loggers(cfg)
    check_gpu_only(cfg)
    check_group_arguments(cfg, () if OmegaConf.get_type(cfg) is TrainConfig else ("model", "data"))
    check_init_from(cfg)
    check_resume(cfg)
