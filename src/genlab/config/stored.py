"""Rebuilds a run's config from a checkpoint, applying the current command line's overrides on top."""
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf, open_dict

STORED_GROUPS = ("data", "model", "metrics")


def overridden_keys(overrides: list[str]) -> list[str]:
    """Keys (or group names) set on the command line, e.g. ['ckpt_path', 'data.batch_size', 'trainer']."""
    return [override.key_or_group for override in OverridesParser.create().parse_overrides(overrides)]


def stored_group(current, stored: dict):
    """Typed groups (e.g. MetricsConfig) are merged so their schema still checks; free-form ones are replaced."""
    if OmegaConf.is_dict(current) and OmegaConf.get_type(current) not in (dict, None):
        return OmegaConf.merge(current, stored)
    return OmegaConf.create(stored)


def merge_stored_config(stored: dict, cfg: DictConfig, overrides: list[str]) -> DictConfig:
    """`cfg` with data/model/metrics taken from the checkpoint's config, except what `overrides` changed."""
    merged = cfg.copy()
    with open_dict(merged):
        for group in STORED_GROUPS:
            if group in stored:
                merged[group] = stored_group(merged.get(group), stored[group])
        for key in overridden_keys(overrides):
            if key.split(".")[0] in STORED_GROUPS:
                OmegaConf.update(merged, key, OmegaConf.select(cfg, key), merge=False, force_add=True)
    return merged


def config_from_checkpoint(cfg: DictConfig) -> tuple[dict, DictConfig]:
    """Read `cfg.ckpt_path` safely; return the checkpoint and its stored config with this command line on top."""
    from genlab.checkpoints import genlab_metadata, read_checkpoint

    checkpoint = read_checkpoint(cfg.ckpt_path)
    stored = genlab_metadata(checkpoint, cfg.ckpt_path)["config"]
    return checkpoint, merge_stored_config(stored, cfg, list(HydraConfig.get().overrides.task))
