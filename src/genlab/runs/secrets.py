"""Secrets stay in the environment: a config that would carry one into a run's files is refused, and messages are redacted.

A run writes its config to `.hydra/`, `run_info.json`, `config_tree.log`, every checkpoint and every dashboard, so a
secret that reaches the config leaks everywhere. Libraries that need one (wandb, MLflow, boto) read it from the
environment themselves.
"""
import os
import re
from pathlib import Path

SECRET_ENV_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")
# Config keys that name a secret: api_key, access_key, secret, password, token (not tokens, tokenizer, sort_key).
SECRET_KEY_PATTERN = re.compile(r"(^|_)((api|access|secret|private)_?key|secret|password|passwd|token|credentials?)(_|$)")
MIN_SECRET_LENGTH = 8  # shorter values (true, 1, ...) are not recognisable as secrets
REDACTED = "***"


def secret_env_values(environ=None) -> dict[str, str]:
    """{value: name} of environment variables whose name contains KEY, TOKEN, SECRET or PASSWORD.

    Values too short to recognise, and paths that exist (e.g. a key file's location), are left out."""
    environ = os.environ if environ is None else environ
    return {
        value: name for name, value in sorted(environ.items())
        if any(word in name.upper() for word in SECRET_ENV_WORDS)
        and len(value) >= MIN_SECRET_LENGTH and not os.path.exists(value)
    }


def is_secret_key(key: str) -> bool:
    """`api_key`, `logger.mlflow.password`, `WANDB_API_KEY`: a key whose last part names a secret."""
    last = re.sub(r"\[\d+\]$", "", str(key)).rsplit(".", 1)[-1].lower().replace("-", "_")
    return SECRET_KEY_PATTERN.search(last) is not None


def _leaves(node, path: str):
    """(key path, value) of every leaf of a plain config container, e.g. ('tags[1]', 'dev')."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _leaves(value, f"{path}[{index}]")
    else:
        yield path, node


def find_secret(config: dict, overrides: list[str], environ=None) -> tuple[str, str | None] | None:
    """The first (key, env var name) where `config` (resolved) or a command-line override holds a secret.

    The env var name is None for a value under a secret-named key (`+logger.wandb.api_key=...`)."""
    values = secret_env_values(environ)
    override_items = [tuple(override.split("=", 1)) for override in overrides if "=" in override]
    for key, value in [*_leaves(config, ""), *override_items]:
        if not isinstance(value, str) or not value:
            continue
        key = key.lstrip("+~")
        for secret, name in values.items():
            if secret in value:
                return key, name
        if is_secret_key(key):
            return key, None
    return None


def redact(text: str, environ=None) -> str:
    """`text` with the value of every secret environment variable replaced by ***."""
    for secret in sorted(secret_env_values(environ), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def redact_files(paths, environ=None) -> None:
    """Rewrite each existing text file with secret values redacted (e.g. Hydra's `.hydra/overrides.yaml`)."""
    for path in map(Path, paths):
        if path.is_file():
            text = path.read_text(errors="replace")
            if (clean := redact(text, environ)) != text:
                path.write_text(clean)
