"""Bad input: one line naming the key/value, exit code 2, and no torch import for config errors."""
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, run_dirs

CONFIG_ERRORS = [  # more cases, each also checked for what it leaves behind, in test_bad_input_catalogue.py
    (["data=imagenet"], "unknown data option 'imagenet'; valid options: cifar10, digits, fashion_mnist, image_folder, mnist"),
    (["train=maybe"], "train: Value 'maybe' is not a valid bool"),
    (["foo=1"], "unknown config key 'foo'"),
    (["+foo=1"], "unknown config key 'foo'"),
    (["model.nope=1"], "unknown config key 'model.nope'"),
    (["metrics.num_samples=0"], "metrics.num_samples must be a positive number, got 0"),
    (["metrics.prdc_k=0"], "metrics.prdc_k must be a positive number, got 0"),
    (["metrics.prdc_k=5", "metrics.num_samples=5"], "metrics.prdc_k=5 needs metrics.num_samples > 5 (each sample's k-NN ball), got 5"),
    (["ckpt_path=last"], "ckpt_path=last needs resume=<run_dir>"),
    (["resume=/no/such/run"], "resume=/no/such/run: not a genlab run dir (no run_info.json there)"),
    (["trainer=cpu", "trainer.precision=16-mixed"], "trainer.precision=16-mixed needs a GPU (trainer.accelerator=cpu)"),
    (["trainer=fsdp"], "trainer.strategy=fsdp needs a GPU (no CUDA device is available)"),
]


@pytest.mark.parametrize(("args", "message"), CONFIG_ERRORS, ids=[" ".join(a) for a, _ in CONFIG_ERRORS])
def test_config_error_prints_one_line_naming_the_key_and_exits_2(run_cli, output_dir, args, message):
    result = run_cli("train", *args)
    assert result.exit_code == 2
    assert not list(output_dir.glob("*/runs/*")), "a rejected run leaves no run dir behind"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genlab-train: error: ") and message in lines[0], result.stderr


def test_resume_of_a_run_without_checkpoints_names_the_run_and_never_starts_from_scratch(run_cli, output_dir):
    assert run_cli("train", "debug=fdr").exit_code == 0
    (run_dir,) = run_dirs(output_dir, "debug")
    shutil.rmtree(run_dir / "checkpoints")  # as if killed before its first checkpoint
    before = {path: path.read_bytes() for path in run_dir.rglob("*") if path.is_file()}
    result = run_cli("train", f"resume={run_dir}", "ckpt_path=last")
    assert result.exit_code == 2
    assert f"resume={run_dir}: no checkpoint in {run_dir}/checkpoints to resume from" in result.stderr
    assert not (run_dir / "checkpoints").exists()
    assert {path: path.read_bytes() for path in run_dir.rglob("*") if path.is_file()} == before  # run_info.json too


PROBE = """
import sys
sys.argv = ["genlab-train", *sys.argv[1:]]
from genlab.train import main
try:
    main()
except SystemExit as exit_:
    code = exit_.code
print("TORCH_IMPORTED" if "torch" in sys.modules else "NO_TORCH", file=sys.stderr)
sys.exit(code or 0)
"""


@pytest.mark.parametrize("args", [["--help"], ["metrics.num_samples=-1"]])
def test_help_and_config_errors_never_import_torch(args, output_dir):
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.stderr.strip().endswith("NO_TORCH"), result.stderr
    assert result.returncode == (0 if args == ["--help"] else 2)


def test_help_lists_config_groups_and_their_options():
    result = subprocess.run([sys.executable, "-m", "genlab.train", "--help"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0
    assert "model: cnn_classifier, dcgan, gpt, image_gpt, lstm_classifier, mlp_gan, rnn_lm, transformer_classifier, vae" in result.stdout
    assert "experiment: " in result.stdout and "dcgan_digits, dcgan_mnist" in result.stdout
