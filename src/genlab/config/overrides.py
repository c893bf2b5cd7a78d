"""Command-line overrides read as text, before Hydra composes them: the key an override sets, the dir resume= names."""
import re
from pathlib import Path


def override_key(override: str) -> str:
    """`+model.lr=1` → `model.lr`; `hydra/launcher=joblib` → `hydra/launcher`."""
    return override.split("=", 1)[0].lstrip("+~")


def dir_named_by_resume(args: list[str]) -> Path | None:
    """The dir named by a `resume=<run or sweep dir>` argument."""
    for arg in args:
        match = re.fullmatch(r"\+{0,2}resume=(['\"]?)(.+)\1", arg)
        if match:
            return Path(match.group(2))
    return None
