"""Typed schema of the top-level keys, registered in Hydra's ConfigStore (wrong types fail at compose time)."""
from dataclasses import dataclass, field, fields
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class PathsConfig:
    data_dir: str = MISSING
    output_dir: str = MISSING
    cache_dir: str = MISSING
    run_dir: str = MISSING


@dataclass
class MetricsConfig:
    _target_: str = "genlab.callbacks.sample_quality.SampleQuality"
    feature_net: Optional[str] = "classifier"  # classifier | inception | null (no FID/KID/IS)
    num_samples: int = 1000
    every_n_epochs: int = 1
    classifier_ckpt: Optional[str] = None
    inception_weights: Optional[str] = None
    kid_subset_size: int = 500
    at_start: bool = True
    prdc_k: int = 5


@dataclass
class CommonConfig:
    task_name: str = MISSING
    run_id: str = MISSING
    seed: int = 12345
    paths: PathsConfig = field(default_factory=PathsConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    data: Any = MISSING
    model: Any = MISSING


@dataclass
class TrainConfig(CommonConfig):
    tags: list[str] = field(default_factory=list)
    train: bool = True
    test: bool = True
    ckpt_path: Optional[str] = None
    resume: Optional[str] = None
    init_from: Optional[str] = None
    optimized_metric: Optional[str] = None
    float32_matmul_precision: Optional[str] = None  # highest | high | medium; None: PyTorch's default
    trainer: Any = MISSING
    logger: Any = None
    callbacks: Any = None


@dataclass
class EvalConfig(CommonConfig):
    ckpt_path: str = MISSING
    split: str = "test"
    trainer: Any = MISSING


@dataclass
class SampleConfig(CommonConfig):
    ckpt_path: str = MISSING
    num_samples: Optional[int] = None
    class_label: Optional[int] = None
    prompt: str = "\n"
    max_new_tokens: int = 500
    temperature: float = 0.8
    top_k: Optional[int] = 200
    top_p: Optional[float] = None


@dataclass
class ExportConfig:
    task_name: str = MISSING
    run_id: str = MISSING
    paths: PathsConfig = field(default_factory=PathsConfig)
    ckpt_path: str = MISSING
    format: str = "genlab"


SCHEMAS = {"train": TrainConfig, "eval": EvalConfig, "sample": SampleConfig, "export": ExportConfig}  # by command


def top_level_keys(config_name: str) -> list[str]:
    """The top-level keys of one command's config."""
    return sorted(field.name for field in fields(SCHEMAS[config_name]))


def register_schemas() -> None:
    """Make `genlab_{train,eval,sample}_schema` available to the primary configs' defaults lists."""
    store = ConfigStore.instance()
    store.store(name="genlab_train_schema", node=TrainConfig)
    store.store(name="genlab_eval_schema", node=EvalConfig)
    store.store(name="genlab_sample_schema", node=SampleConfig)
    store.store(name="genlab_export_schema", node=ExportConfig)
