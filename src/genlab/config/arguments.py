"""Each instantiated group's keys against its `_target_`'s signature: a key the class does not take, or a value of a
type it cannot take, fails in one line naming the key, before anything is built (Lightning's own errors come later,
as tracebacks or assertions, and `trainer.max_epochs=abc` would get through setup first)."""
import collections.abc
import difflib
import inspect
import os
import types
import typing
from pathlib import PurePath

from omegaconf import DictConfig, OmegaConf

from genlab.config.overrides import override_key
from genlab.errors import ConfigError
from genlab.models.build import NOT_CONSTRUCTOR_ARGS

SEQUENCES = (list, tuple, collections.abc.Sequence, collections.abc.Iterable)
MAPPINGS = (dict, collections.abc.Mapping)


def instantiated_groups(cfg: DictConfig) -> list[str]:
    """The config keys genlab builds by `_target_`: trainer, model, data, and each callback and logger."""
    keys = [key for key in ("trainer", "model", "data") if key in cfg]
    for group in ("callbacks", "logger"):
        node = cfg.get(group)
        if OmegaConf.is_dict(node):
            keys += [f"{group}.{name}" for name, entry in node.items() if OmegaConf.is_dict(entry) and "_target_" in entry]
    return keys


def target_parameters(target: str) -> tuple[str, dict[str, inspect.Parameter], dict] | None:
    """(class name, constructor parameters, resolved annotations) of a `_target_`; None when it has no signature."""
    from genlab.compat.hydra import locate

    built = locate(target)
    try:
        parameters = dict(inspect.signature(built).parameters)
    except (TypeError, ValueError):
        return None
    try:
        hints = typing.get_type_hints(built.__init__ if isinstance(built, type) else built)
    except Exception:  # noqa: BLE001 - annotations that cannot be resolved are not judged
        hints = {}
    return getattr(built, "__name__", target), parameters, hints


def close_names(name: str, names) -> str:
    """'; did you mean max_steps?' for a misspelt parameter, else ''."""
    matches = difflib.get_close_matches(name, list(names), n=2)
    return f"; did you mean {' or '.join(matches)}?" if matches else ""


def check_arguments(key: str, node: dict) -> None:
    """ConfigError naming `key.<name>` for the first argument `node`'s `_target_` does not take, or cannot take."""
    found = target_parameters(node["_target_"])
    if found is None:
        return
    name, parameters, hints = found
    takes_any = any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters.values())
    for argument, value in node.items():
        if argument.startswith("_") or argument in NOT_CONSTRUCTOR_ARGS:
            continue
        if argument not in parameters:
            if takes_any:
                continue
            raise ConfigError(f"unknown config key '{key}.{argument}': {name} has no parameter {argument}"
                              f"{close_names(argument, parameters)}")
        annotation = hints.get(argument, inspect.Parameter.empty)
        if value is None and parameters[argument].default is None:
            continue
        if not fits(value, annotation):
            raise ConfigError(f"{key}.{argument} must be {describe(annotation)}, got {value!r}")


def check_group_arguments(cfg: DictConfig, rebuilt_from_checkpoint: tuple[str, ...] = ()) -> None:
    """check_arguments for every group genlab builds from this config, except those a checkpoint's config replaces."""
    keys = [key for key in instantiated_groups(cfg) if key not in rebuilt_from_checkpoint]
    nodes = {key: OmegaConf.to_container(OmegaConf.select(cfg, key), resolve=True) for key in keys}  # all, cheaply
    for key, node in nodes.items():  # then each class, imported
        check_arguments(key, node)


def fits(value, annotation) -> bool:
    """Whether `value` (plain config data) can be given for a parameter annotated `annotation`; constructs this does
    not know are not judged."""
    if annotation in (inspect.Parameter.empty, typing.Any, object) or isinstance(annotation, typing.TypeVar):
        return True
    if isinstance(value, dict) and "_target_" in value:
        return True  # built by instantiate first
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(fits(value, arg) for arg in args)
    if origin is typing.Literal:
        return value in args
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if origin in SEQUENCES or annotation in SEQUENCES:
        return isinstance(value, (list, tuple)) and all(fits(item, arg) for arg in args[:1] for item in value)
    if origin in MAPPINGS or annotation in MAPPINGS:
        return isinstance(value, dict)
    if isinstance(annotation, type) and issubclass(annotation, (os.PathLike, PurePath)):
        return isinstance(value, str)
    if isinstance(annotation, type) and annotation.__module__ == "builtins":
        return isinstance(value, annotation)
    return True  # a class of its own (an Accelerator, a timedelta): what it accepts from a config is its business


def describe(annotation) -> str:
    """`Optional[int]` → 'an integer or null', for error lines."""
    options = union_members(annotation)
    literals = [value for option in options if typing.get_origin(option) is typing.Literal for value in typing.get_args(option)]
    if float in options:
        options = [option for option in options if option is not int]  # "a number" covers integers
    names = [name_of(option) for option in options if typing.get_origin(option) is not typing.Literal]
    if literals:
        names.insert(0, "one of " + ", ".join(dict.fromkeys(map(str, literals))))
    return " or ".join(dict.fromkeys(names))


def union_members(annotation) -> list:
    """The members of a (nested) Union, or the annotation alone."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [member for arg in typing.get_args(annotation) for member in union_members(arg)]
    return [annotation]


def name_of(annotation) -> str:
    """A plain name for one (non-union) annotation."""
    names = {type(None): "null", bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    origin = typing.get_origin(annotation)
    if annotation in names:
        return names[annotation]
    if origin in SEQUENCES or annotation in SEQUENCES:
        return "a list"
    if origin in MAPPINGS or annotation in MAPPINGS:
        return "a mapping"
    return getattr(annotation, "__name__", str(annotation))


def unknown_key_hint(key: str, config_name: str, overrides: list[str]) -> str:
    """What follows "unknown config key 'x.y'": how to add it when the class its group builds takes it (`+x.y=...`),
    else which keys are close; only advice that works. `overrides` are the command line's, the bad one among them."""
    from hydra.core.global_hydra import GlobalHydra

    from genlab.config.compose import compose_run
    from genlab.config.schema import top_level_keys

    group, _, name = key.rpartition(".")
    if not group:
        known = top_level_keys(config_name)
        return f"; top-level keys are: {', '.join(known)}{close_names(name, known)}"
    others = [arg for arg in overrides if not arg.startswith(("-", "hydra.", "hydra/")) and override_key(arg) != key]
    GlobalHydra.instance().clear()
    try:
        node = OmegaConf.select(compose_run(others, config_name), group) if group else None
    except Exception:  # noqa: BLE001 - another error in the command line: it is reported once this one is fixed
        node = None
    if not OmegaConf.is_dict(node):
        return ""
    found = target_parameters(node["_target_"]) if "_target_" in node else None
    if found is not None and name in found[1]:
        return f" (add it with +{key}=...)"
    names = [*node.keys(), *(found[1] if found else [])]
    owner = f"{found[0]} has no parameter {name}" if found else f"{group} has no key {name}"
    return f": {owner}{close_names(name, [n for n in names if not n.startswith('_')])}"
