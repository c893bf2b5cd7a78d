"""Runs' overrides as comparable values: each run's value for a key, and which keys differ between runs."""
from typing import Any

NOISE_PREFIXES = ("paths.", "hydra.", "hydra/", "callbacks.rich_progress_bar")
SEED_KEY = "seed"
DELETED = "(deleted)"
UNSET = object()


def parse_value(text: str) -> Any:
    """An override's value as the config would hold it: "1e-4" and "0.0001" compare equal, "False" is false."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none", "~"):
        return None
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    return text.strip().strip("'\"")


def parse_overrides(overrides: list[str]) -> dict[str, Any]:
    """["+model.lr=1e-4", "seed=1", "~logger"] → {"model.lr": 0.0001, "seed": 1, "logger": "(deleted)"}."""
    parsed: dict[str, Any] = {}
    for override in overrides:
        key, has_value, value = override.partition("=")
        if key.startswith("~"):
            parsed[key.lstrip("~")] = DELETED
        elif has_value:
            parsed[key.lstrip("+")] = parse_value(value)
    return parsed


def format_value(value: Any) -> str:
    """How a value reads in the table: 0.0001, true, null."""
    if value is UNSET:
        return ""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def is_noise(key: str) -> bool:
    """Keys that differ between runs without changing what they compute (paths, the progress bar, Hydra's own)."""
    return key.startswith(NOISE_PREFIXES)


def config_value(config: dict, choices: dict, key: str) -> Any:
    """`key` in a composed config (model.lr), else a config group's choice (experiment, model); UNSET if neither."""
    node: Any = config
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return choices.get(key, UNSET)
    # an unresolved interpolation (${...}) is not the value the run used
    return UNSET if isinstance(node, str) and "${" in node else node

