"""Which `_target_`s a config genlab did not compose itself (a checkpoint's stored config) may build: genlab's own
model, data and network classes, and classes of modules in a directory the user named in GENLAB_CONFIG_PATH.

The module is judged by its name and location before it is imported, so a hostile file can neither call a function
(`builtins.open`, `shutil.copyfile`) nor make genlab import a module it does not trust.
"""
import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from genlab.errors import CheckpointError

GENLAB_PACKAGE = "genlab"


def user_module_dirs() -> list[Path]:
    """The directories of GENLAB_CONFIG_PATH, absolute: user configs (the search-path plugin) and their modules."""
    return [Path(directory).resolve() for directory in filter(None, os.environ.get("GENLAB_CONFIG_PATH", "").split(os.pathsep))]


def add_user_module_dirs() -> None:
    """Make the modules of GENLAB_CONFIG_PATH importable (after everything else on sys.path)."""
    for directory in map(str, user_module_dirs()):
        if directory not in sys.path:
            sys.path.append(directory)


def module_location(module_name: str) -> Path | None:
    """Where importing `module_name`'s top-level module would load it from (found without running it)."""
    try:
        spec = importlib.util.find_spec(module_name.split(".")[0])
    except (ImportError, ValueError):
        return None
    origin = spec and (spec.origin if spec.has_location else next(iter(spec.submodule_search_locations or []), None))
    return Path(origin).resolve() if origin else None


def trusted_module(module_name: str) -> bool:
    """genlab's own modules, and modules in a GENLAB_CONFIG_PATH directory."""
    if module_name == GENLAB_PACKAGE or module_name.startswith(f"{GENLAB_PACKAGE}."):
        return True
    dirs = user_module_dirs()
    if not dirs or not module_name:
        return False
    add_user_module_dirs()
    location = module_location(module_name)
    return location is not None and any(location.is_relative_to(directory) for directory in dirs)


def buildable_class(target) -> bool:
    """Whether `target` names a trusted module's network, LightningModule or LightningDataModule class."""
    if not isinstance(target, str) or not trusted_module(target.rpartition(".")[0]):
        return False
    from lightning.pytorch import LightningDataModule
    from torch import nn

    from genlab.compat.hydra import locate

    try:
        built = locate(target)
    except (ImportError, ValueError):
        return True  # not importable: check_stored_targets says it is stale, naming the key
    return isinstance(built, type) and issubclass(built, (nn.Module, LightningDataModule))


def check_trusted_config(config, prefix: str, source) -> None:
    """Refuse (one line naming the key and target) a stored config that would build anything but a trusted class, or
    that holds an interpolation (`${...}`: resolvers read the environment and make dirs; stored configs are resolved)."""
    if isinstance(config, Mapping):
        items = config.items()
    elif isinstance(config, (list, tuple)):
        items = enumerate(config)
    else:
        if isinstance(config, str) and "${" in config:
            raise CheckpointError(f"{source}: stored config key {prefix} holds an interpolation ({config[:60]!r}); "
                                  "a stored config is resolved and never needs one: refusing to use it")
        return
    for key, value in items:
        check_trusted_config(value, f"{prefix}.{key}" if isinstance(key, str) else f"{prefix}[{key}]", source)
    if isinstance(config, Mapping) and "_target_" in config and not buildable_class(config["_target_"]):
        raise CheckpointError(
            f"{source}: stored config {prefix}._target_={config['_target_']} is not a genlab model, data or network "
            "class, nor a class in a GENLAB_CONFIG_PATH directory; refusing to build it")
