"""Secrets from the environment (API keys, tokens, passwords) never reach a run's files, its dashboards or its console:
a run with planted secrets is grepped byte by byte, and a config that would carry one is refused without echoing it."""
import secrets
from pathlib import Path

import pytest

from conftest import FAST, run_dirs, run_subprocess
from genlab.runs.secrets import find_secret, is_secret_key, redact, secret_env_values

PLANTED_NAMES = ("WANDB_API_KEY", "MY_SERVICE_TOKEN", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD")


@pytest.fixture
def planted(monkeypatch) -> dict[str, str]:
    """Distinctive random values for secret-named environment variables, set in this process."""
    values = {name: f"planted{secrets.token_hex(16)}" for name in PLANTED_NAMES}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def files_holding(directory, values) -> list[str]:
    """Every file below `directory`, binary ones included, that contains one of `values`."""
    needles = [value.encode() for value in values]
    return [str(path) for path in sorted(directory.rglob("*"))
            if path.is_file() and any(needle in path.read_bytes() for needle in needles)]


def test_planted_secrets_appear_in_no_file_of_a_run_with_every_dashboard_nor_on_its_console(
        output_dir, planted, monkeypatch):
    control = f"control{secrets.token_hex(8)}"  # a non-secret value in the config: the grep must find it (resolved)
    monkeypatch.setenv("GENLAB_TEST_TAG", control)
    result = run_subprocess("train", *FAST, "trainer.max_epochs=1", "metrics.num_samples=100", "logger=many",
                            "tags=[dev,${oc.env:GENLAB_TEST_TAG}]")
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = run_dirs(output_dir)
    written = {str(path.relative_to(run_dir)).split("/")[0] for path in map(Path, files_holding(run_dir, [control]))}
    assert {"checkpoints", "tensorboard", "wandb", "run_info.json", "config_tree.log"} <= written, written
    assert files_holding(output_dir, planted.values()) == []
    assert not any(value in result.stdout + result.stderr for value in planted.values())


REFUSED = [
    (["tags=[dev,${oc.env:MY_SERVICE_TOKEN}]"], "tags[1] holds the value of the secret environment variable MY_SERVICE_TOKEN"),
    (["logger=wandb", "+logger.wandb.notes={DB_PASSWORD}"],
     "logger.wandb.notes holds the value of the secret environment variable DB_PASSWORD"),
    (["logger=wandb", "+logger.wandb.api_key=abc123def456"], "logger.wandb.api_key holds a secret (its name says so)"),
]


@pytest.mark.parametrize(("args", "message"), REFUSED, ids=["interpolated", "typed_in", "secret_named_key"])
def test_a_config_carrying_a_secret_is_refused_in_one_line_naming_the_key_never_the_value(
        run_cli, output_dir, planted, args, message):
    result = run_cli("train", *(arg.replace("{DB_PASSWORD}", planted["DB_PASSWORD"]) for arg in args))
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"genlab-train: error: {message}; genlab keeps secrets out of configs"), line
    assert not any(value in result.stdout + result.stderr for value in planted.values())
    assert not list(output_dir.glob("*/runs/*")), "the refused run leaves no run dir (nor Hydra's copy of the command line)"


def test_a_refused_secret_leaves_an_existing_runs_files_and_its_hydra_copy_as_they_were(run_cli, tmp_path, planted):
    run_dir = tmp_path / "run"
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / "run_info.json").write_text('{"run_id": "0123abcd", "status": "completed"}')
    (run_dir / ".hydra" / "overrides.yaml").write_text("- seed=1\n")
    (run_dir / "train.log").write_text("[the run's own log]\n")
    before = {path: path.read_bytes() for path in run_dir.rglob("*") if path.is_file()}
    result = run_cli("train", f"resume={run_dir}", f"+logger.wandb.notes={planted['MY_SERVICE_TOKEN']}", "logger=wandb")
    assert result.exit_code == 2 and "secret environment variable MY_SERVICE_TOKEN" in result.stderr
    assert {path: path.read_bytes() for path in run_dir.rglob("*") if path.is_file()} == before


def test_an_error_message_that_would_echo_a_secret_shows_stars(run_cli, planted):
    result = run_cli("train", f"seed={planted['DB_PASSWORD']}")
    assert result.exit_code == 2
    assert result.stderr.strip() == "genlab-train: error: seed: Value '***' of type 'str' could not be converted to Integer"


def test_secret_env_values_are_long_values_of_key_token_secret_password_names_and_never_paths(tmp_path):
    environ = {"WANDB_API_KEY": "k" * 40, "GITHUB_TOKEN": "ghp_abcdefgh", "DB_PASSWORD": "hunter2hunter2",
               "TOKENIZERS_PARALLELISM": "false", "SSH_KEY_FILE": str(tmp_path), "HOME": "/root/secret-looking"}
    assert secret_env_values(environ) == {"k" * 40: "WANDB_API_KEY", "ghp_abcdefgh": "GITHUB_TOKEN",
                                          "hunter2hunter2": "DB_PASSWORD"}
    assert redact("url https://u:hunter2hunter2@host", environ) == "url https://u:***@host"


@pytest.mark.parametrize(("key", "secret"), [
    ("logger.wandb.api_key", True), ("access_token", True), ("logger.mlflow.password", True),
    ("hydra.job.env_set.WANDB_API_KEY", True), ("x.client_secret", True), ("model.sample_tokens", False),
    ("max_new_tokens", False), ("data.tokenizer", False), ("sort_key", False), ("tags[1]", False),
])
def test_secret_named_keys_are_told_from_token_counts_and_tokenizers(key, secret):
    assert is_secret_key(key) is secret


def test_find_secret_reports_the_key_and_the_variable_of_the_first_secret():
    environ = {"DB_PASSWORD": "hunter2hunter2"}
    config = {"model": {"lr": 0.1}, "logger": {"mlflow": {"tracking_uri": "https://u:hunter2hunter2@host"}}}
    assert find_secret(config, [], environ) == ("logger.mlflow.tracking_uri", "DB_PASSWORD")
    assert find_secret({"tags": ["dev"]}, ["hydra.job.env_set.WANDB_API_KEY=xyz"], environ) == (
        "hydra.job.env_set.WANDB_API_KEY", None)
    assert find_secret({"tags": ["dev"], "max_new_tokens": 500}, ["seed=1"], environ) is None


def test_a_sweep_job_refused_for_a_typed_in_secret_keeps_it_out_of_the_multirun_summary(run_cli, output_dir, planted):
    result = run_cli("train", "-m", *FAST, f"+logger.wandb.notes={planted['DB_PASSWORD']}", "logger=wandb")
    assert result.exit_code != 0
    (summary,) = output_dir.glob("*/multiruns/*/multirun_summary.csv")
    text = summary.read_text()
    assert "failed" in text and "***" in text
    assert files_holding(output_dir, planted.values()) == []
