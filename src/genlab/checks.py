"""Argument checks shared by datamodules, networks and models: a bad value fails in one line naming its key."""
import math
from numbers import Integral, Real

from genlab.errors import ConfigError


def integer(key: str, value, minimum: int = 1) -> int:
    """`value` as an int when it is an integer >= minimum, else ConfigError naming `key`."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ConfigError(f"{key} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def positive(key: str, value) -> float:
    """`value` as a float when it is a finite number > 0, else ConfigError naming `key`."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value < math.inf:
        raise ConfigError(f"{key} must be a positive number, got {value!r}")
    return float(value)


def number(key: str, value, minimum: float = 0.0) -> float:
    """`value` as a float when it is a number >= minimum, else ConfigError naming `key`."""
    if isinstance(value, bool) or not isinstance(value, Real) or value < minimum:
        raise ConfigError(f"{key} must be a number >= {minimum:g}, got {value!r}")
    return float(value)


def fraction(key: str, value, low_open: bool = False) -> float:
    """`value` as a float in [0, 1), or in (0, 1) when `low_open`, else ConfigError naming `key`."""
    interval = "(0, 1)" if low_open else "[0, 1)"
    if isinstance(value, bool) or not isinstance(value, Real) or not (0 < value < 1 if low_open else 0 <= value < 1):
        raise ConfigError(f"{key} must be a number in {interval}, got {value!r}")
    return float(value)


def path_name(key: str, value) -> str:
    """`value` when it can name one directory (no path separators, not '.' or '..'), else ConfigError naming `key`:
    task_name and run_id become directory names under paths.output_dir, and must not lead out of it."""
    text = str(value)
    if not text or text in (".", "..") or any(char in text for char in "/\\\0"):
        raise ConfigError(f"{key}={text!r} must be a plain name (no '/', '\\' or '..'): it names a directory under "
                          "paths.output_dir")
    return text


def choice(key: str, value, valid: tuple[str, ...]) -> str:
    """`value` if it is one of `valid`, else ConfigError naming `key`."""
    if value not in valid:
        raise ConfigError(f"{key} must be one of {', '.join(valid)}, got {value!r}")
    return value
