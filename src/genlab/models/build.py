"""Builds a LightningModule from its `model` config; `compile` is genlab's switch, not a constructor argument."""
from omegaconf import DictConfig, OmegaConf, open_dict

NOT_CONSTRUCTOR_ARGS = ("compile",)  # genlab's own switches, taken out before the class is built


def instantiate_model(model_config: DictConfig):
    """The module named by `_target_`, built from every key except NOT_CONSTRUCTOR_ARGS."""
    from hydra.utils import instantiate

    arguments = OmegaConf.create(model_config) if isinstance(model_config, dict) else model_config.copy()
    with open_dict(arguments):
        for key in NOT_CONSTRUCTOR_ARGS:
            arguments.pop(key, None)
    return instantiate(arguments, _convert_="all")
