"""Rebuilds a run's config from a checkpoint, applying the current command line's overrides on top; a stored config
that no longer fits the current code (a key renamed or removed since the checkpoint was written) fails in one line."""
import inspect
from collections.abc import Mapping

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from genlab.compat.hydra import locate
from genlab.config.trusted_targets import check_trusted_config
from genlab.errors import CheckpointError
from genlab.models.build import NOT_CONSTRUCTOR_ARGS

STORED_GROUPS = ("data", "model", "metrics")
STALE = "renamed or removed since the checkpoint was written"
SETTABLE = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def overridden_keys(overrides: list[str]) -> list[str]:
    """Keys (or group names) set on the command line, e.g. ['ckpt_path', 'data.batch_size', 'trainer']."""
    return [override.key_or_group for override in OverridesParser.create().parse_overrides(overrides)]


def stored_group(name: str, current, stored: dict, path):
    """Typed groups (e.g. MetricsConfig) are merged so their schema still checks; free-form ones are replaced."""
    if not (OmegaConf.is_dict(current) and OmegaConf.get_type(current) not in (dict, None)):
        return OmegaConf.create(stored)
    try:
        return OmegaConf.merge(current, stored)
    except OmegaConfBaseException as error:
        key = str(error.full_key or error.key)
        key = key if key.startswith(f"{name}.") else f"{name}.{key}"
        if isinstance(error, ConfigKeyError):
            message = f"stored config key {key} is not in the current {name} config ({STALE})"
        else:
            message = f"stored config key {key} does not fit the current {name} config: {str(error).splitlines()[0]}"
        raise CheckpointError(f"{path}: {message}") from None


def merge_stored_config(stored: dict, cfg: DictConfig, overrides: list[str], path="the checkpoint") -> DictConfig:
    """`cfg` with data/model/metrics taken from the checkpoint's config, except what `overrides` changed; the stored
    groups may build only trusted classes (see check_trusted_config), each checked against the current code (see
    check_stored_targets)."""
    check_trusted_groups(stored, path)
    stored = {**stored, "metrics": measurement_settings(stored["metrics"])} if "metrics" in stored else stored
    merged = cfg.copy()
    keys = overridden_keys(overrides)
    with open_dict(merged):
        for group in STORED_GROUPS:
            if group in stored:
                merged[group] = stored_group(group, merged.get(group), stored[group], path)
        for key in keys:
            if key.split(".")[0] in STORED_GROUPS:
                OmegaConf.update(merged, key, OmegaConf.select(cfg, key), merge=False, force_add=True)
    for group in STORED_GROUPS:
        if group in stored and group not in keys and OmegaConf.is_dict(merged.get(group)):
            check_stored_targets(OmegaConf.to_container(merged[group]), group, path, set(keys))
    return merged


def check_trusted_groups(stored: Mapping, path) -> None:
    """The stored groups build only trusted classes (see check_trusted_config); a stored metrics `_target_` is never
    built (see measurement_settings)."""
    for group in STORED_GROUPS:
        config = stored.get(group)
        check_trusted_config(measurement_settings(config) if group == "metrics" else config, group, path)


def measurement_settings(metrics):
    """A stored `metrics` group without its `_target_`: a checkpoint's settings are measured by the current
    config's metrics class, never by a class the checkpoint names."""
    return {key: value for key, value in metrics.items() if key != "_target_"} if isinstance(metrics, Mapping) else metrics


def check_stored_targets(config: Mapping, prefix: str, path, overridden: set[str] = frozenset()) -> None:
    """Each `_target_` config in `config` (the group at `prefix`, nested ones too) still names an importable class
    whose parameters cover the stored keys and whose required parameters are all set; else a CheckpointError naming
    the key. Keys set on the command line (`overridden`) are the user's, not the checkpoint's, and are not judged."""
    for key, value in config.items():
        if isinstance(value, Mapping):
            check_stored_targets(value, f"{prefix}.{key}", path, overridden)
    target = config.get("_target_")
    if not isinstance(target, str):
        return
    try:
        built = locate(target)
    except (ImportError, ValueError) as error:
        reason = str(error.__cause__ or error).splitlines()[0]
        raise CheckpointError(f"{path}: stored config {prefix}._target_={target} cannot be imported ({reason}): "
                              f"{STALE}, or its module is not on the path") from None
    try:
        parameters = inspect.signature(built).parameters
    except (TypeError, ValueError):
        return  # a builtin without a signature: nothing to compare
    name = getattr(built, "__name__", target)
    keys = [key for key in config if not str(key).startswith("_") and key not in NOT_CONSTRUCTOR_ARGS]
    if not any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters.values()):
        for key in keys:
            if key not in parameters and f"{prefix}.{key}" not in overridden:
                unset = [p for p, parameter in parameters.items() if parameter.kind in SETTABLE and p not in config]
                hint = f"; {name} parameters it does not set: {', '.join(unset)}" if unset else ""
                raise CheckpointError(
                    f"{path}: stored config key {prefix}.{key} is not a parameter of {name} any more ({STALE}){hint}")
    for key, parameter in parameters.items():
        if parameter.kind in SETTABLE and parameter.default is inspect.Parameter.empty and key not in config:
            raise CheckpointError(f"{path}: stored config has no {prefix}.{key}, which {name} now requires (added "
                                  f"since the checkpoint was written): give it with +{prefix}.{key}=...")
