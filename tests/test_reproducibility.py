"""Same seed on CPU, same numbers: two fresh runs of the DCGAN (FID/KID/IS included) and of a small GPT write
identical metrics.csv files, apart from the columns that measure time."""
import csv

import pytest

from conftest import FAST, run_dirs
from helpers.text_runs import lm_args

TIME_COLUMN_WORDS = ("time", "per_sec")  # throughput monitor: train/time, train/device/items_per_sec, ...


def timeless_rows(run_dir) -> tuple[list[str], list[list[str]]]:
    """metrics.csv's header and rows without the wall-clock columns."""
    with (run_dir / "metrics.csv").open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    kept = [index for index, name in enumerate(header) if not any(word in name for word in TIME_COLUMN_WORDS)]
    return [header[index] for index in kept], [[row[index] for index in kept] for row in rows]


@pytest.fixture
def text_file(tmp_path):
    from helpers.text_runs import TEXT

    path = tmp_path / "play.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.mark.parametrize("model", ["dcgan", "gpt"])
def test_two_runs_with_the_same_seed_log_identical_metrics(run_cli, output_dir, text_file, model):
    if model == "dcgan":
        args, task, compared = [*FAST, "trainer.max_epochs=1", "seed=7"], "dcgan_digits", ("train/g_loss", "val/fid")
    else:
        args = [*lm_args(text_file, "gpt"), "model.dropout=0.1", "seed=7"]
        task, compared = "gpt_text", ("train/loss", "val/loss")
    for _ in range(2):
        result = run_cli("train", *args)
        assert result.exit_code == 0, result.stderr[-3000:]
    first, second = (timeless_rows(run_dir) for run_dir in run_dirs(output_dir, task))
    assert set(compared) <= set(first[0]) and len(first[1]) > 5
    assert first == second
