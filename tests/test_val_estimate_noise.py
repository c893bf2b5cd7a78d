"""scripts/val_estimate_noise.py: its whole-split loss is genlab's val/loss, and nanoGPT's estimate centres on the
mean over every window start."""
import re
import subprocess
import sys

import pytest

from conftest import REPO, run_dirs
from helpers.text_runs import TEXT, lm_args, metric_column


def test_script_reproduces_val_loss_and_spreads_nanogpts_estimate_around_the_every_window_mean(
        run_cli, output_dir, tmp_path):
    text_file = tmp_path / "play.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    assert run_cli("train", *lm_args(text_file, "gpt")).exit_code == 0
    (run_dir,) = run_dirs(output_dir, "gpt_text")
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "val_estimate_noise.py"), str(run_dir / "checkpoints" / "last.ckpt"),
         "--text", str(text_file), "--batches", "4", "--batch-size", "2", "--draws", "4000", "--reference", "99"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    number = r"([0-9.]+)"
    whole, every_start = (float(value) for value in re.search(
        rf"val/loss \(whole split\) {number}; mean over every window start {number}", result.stdout).groups())
    assert whole == pytest.approx(metric_column(run_dir, "val/loss")[-1], abs=1e-4)  # the step-20 validation
    mean, std = (float(value) for value in re.search(rf"mean {number}, std {number}", result.stdout).groups())
    assert std > 0 and abs(mean - every_start) < 4 * std / 4000 ** 0.5 + 1e-4  # unbiased: a mean of random windows
    assert "P(<= 99.0) = 1.000" in result.stdout
