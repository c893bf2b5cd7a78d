"""The config `genlab-train` would run with given overrides, composed without starting a run (scripts, notebooks)."""
from pathlib import Path

from omegaconf import DictConfig

CONFIG_DIR = Path(__file__).resolve().parents[3] / "conf"


def compose_run(overrides: list[str], config_name: str = "train") -> DictConfig:
    """`config_name` from genlab's config tree with `overrides` (Hydra syntax), resolvers and schemas registered."""
    from hydra import compose, initialize_config_dir

    from genlab.config.resolvers import register_resolvers
    from genlab.config.schema import register_schemas

    register_resolvers()
    register_schemas()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name, overrides=overrides)
