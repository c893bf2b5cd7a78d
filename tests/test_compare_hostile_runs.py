"""Specification of genlab-compare on other people's run dirs as hostile input: a run with a binary or corrupt file is
skipped with one warning naming the file and why, the other runs are compared; rows whose step is nan/inf are skipped."""
import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import compare, table_run_ids
from genlab.compare.cli import HTML_FILE, PNG_FILE
from genlab.compare.comparison import build_comparison

BAD_RUN_ID = "zz_unreadable"


def make_run(runs_dir: Path, run_id: str, seed: int, metric_rows: list[dict] | None = None) -> Path:
    """A completed run dir as genlab-train leaves it: run_info.json, .hydra/{overrides,config}.yaml, metrics.csv."""
    run_dir = runs_dir / f"2026-01-01_00-00-0{seed}_{run_id}"
    (run_dir / ".hydra").mkdir(parents=True)
    overrides = [f"seed={seed}"]
    info = {"run_id": run_id, "task_name": "toy", "overrides": overrides, "status": "completed", "error": None,
            "start_time": "2026-01-01T00:00:00+00:00", "end_time": "2026-01-01T00:01:00+00:00"}
    (run_dir / "run_info.json").write_text(json.dumps(info))
    (run_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (run_dir / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"seed": seed, "model": {"lr": 0.1}}))
    rows = metric_rows if metric_rows is not None else [{"epoch": 0, "step": 9, "val/loss": 1.0 + seed}]
    with open(run_dir / "metrics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["epoch", "step", "val/loss"])
        writer.writeheader()
        writer.writerows(rows)
    return run_dir


@pytest.fixture
def runs_dir(tmp_path) -> Path:
    return tmp_path / "outputs" / "toy" / "runs"


@pytest.fixture
def good_runs(runs_dir) -> list[Path]:
    return [make_run(runs_dir, "good1", seed=1), make_run(runs_dir, "good2", seed=2)]


BROKEN_FILES = {
    "binary-metrics-csv": ("metrics.csv", b"\xff\xfe" + os.urandom(4096), "is not UTF-8 text (invalid start byte"),
    "metrics-csv-with-a-latin-1-name": ("metrics.csv", "epoch,step,val/loß\n0,1,2.0\n".encode("latin-1"),
                                        "is not UTF-8 text ("),
    "truncated-run-info": ("run_info.json", b'{"run_id": "zz_unreadable", "status": ', "is not valid JSON ("),
    "binary-run-info": ("run_info.json", os.urandom(16) + b"\xff", "is not UTF-8 text ("),
    "run-info-not-an-object": ("run_info.json", b'["zz_unreadable"]', "holds a list, not a dict"),
    "corrupt-hydra-config": (".hydra/config.yaml", b"model: {lr: [0.1\nseed: 3\n", "is not valid YAML ("),
    "binary-hydra-config": (".hydra/config.yaml", b"\x00\xff\xfe" + os.urandom(256), "is not UTF-8 text ("),
    "hydra-config-not-a-mapping": (".hydra/config.yaml", b"just some words\n", "holds a str, not a dict"),
    "corrupt-hydra-settings": (".hydra/hydra.yaml", b"hydra: [runtime\n", "is not valid YAML ("),
}


@pytest.mark.parametrize("relative_path, content, reason", BROKEN_FILES.values(), ids=BROKEN_FILES.keys())
def test_run_with_an_unreadable_file_is_skipped_with_one_warning_naming_it_and_the_others_are_compared(
        runs_dir, good_runs, tmp_path, capsys, relative_path, content, reason):
    bad_run = make_run(runs_dir, BAD_RUN_ID, seed=3)
    (bad_run / relative_path).write_bytes(content)
    report_dir = tmp_path / "report"
    code, out, err = compare(capsys, runs_dir.parent, "--no-group", "--out", report_dir)
    assert code == 0, err
    (warning,) = err.splitlines()
    assert warning.startswith(f"genlab-compare: warning: skipping {bad_run}: {bad_run / relative_path} {reason}")
    assert "Traceback" not in err
    assert table_run_ids(out) == {"good1", "good2"}
    html = (report_dir / HTML_FILE).read_text()
    assert "good1" in html and "good2" in html and BAD_RUN_ID not in html
    assert (report_dir / PNG_FILE).stat().st_size > 0


def test_sweep_job_without_run_info_beside_a_corrupt_multirun_summary_is_skipped_naming_the_summary(tmp_path, capsys):
    sweep = tmp_path / "outputs" / "toy" / "multiruns" / "2026-01-01_00-00-00_abcd1234"
    make_run(sweep, "good1", seed=1).rename(sweep / "0")
    orphan = make_run(sweep, BAD_RUN_ID, seed=2)
    orphan.rename(sweep / "1")
    (sweep / "1" / "run_info.json").unlink()
    (sweep / "multirun_summary.json").write_text('{"rows": [{"job_num": 1,')
    code, out, err = compare(capsys, sweep, "--no-group", "--out", tmp_path / "report")
    assert code == 0, err
    (warning,) = err.splitlines()
    assert warning.startswith(f"genlab-compare: warning: skipping {sweep / '1'}: {sweep / 'multirun_summary.json'} "
                              "is not valid JSON (")
    assert table_run_ids(out) == {"good1"}


@pytest.mark.parametrize("bad_step", ["nan", "inf", "-inf", "NaN", "2.5", ""])
def test_rows_whose_step_is_not_a_whole_finite_number_are_skipped_with_a_warning_and_the_run_kept_with_its_nans(
        runs_dir, good_runs, tmp_path, capsys, bad_step):
    rows = [{"epoch": 0, "step": 1, "val/loss": 3.0}, {"epoch": 0, "step": bad_step, "val/loss": 0.5},
            {"epoch": 0, "step": 2, "val/loss": float("nan")}]
    diverged_dir = make_run(runs_dir, "diverged", seed=3, metric_rows=rows)
    code, out, err = compare(capsys, runs_dir.parent, "--no-group", "--out", tmp_path / "report")
    assert code == 0 and err == (f"genlab-compare: warning: {diverged_dir / 'metrics.csv'}: skipped 1 row(s) "
                                 "whose step is not a whole finite number; the run's other rows are compared\n")
    assert table_run_ids(out) == {"good1", "good2", "diverged"}
    (diverged,) = [run for run in build_comparison([str(runs_dir.parent)], no_group=True).runs
                   if run.run_id == "diverged"]
    (first, last) = diverged.series["val/loss"]
    assert first == (1, 3.0) and last[0] == 2 and math.isnan(last[1])


@pytest.mark.parametrize("final, shown", [(float("nan"), "nan"), (float("inf"), "inf"), (float("-inf"), "-inf")])
def test_a_seed_group_with_a_diverged_run_shows_its_final_mean_without_a_spread(
        runs_dir, tmp_path, capsys, final, shown):
    make_run(runs_dir, "steady", seed=1, metric_rows=[{"epoch": 0, "step": 1, "val/loss": 1.0}])
    make_run(runs_dir, "diverged", seed=2, metric_rows=[{"epoch": 0, "step": 1, "val/loss": final}])
    code, out, err = compare(capsys, runs_dir.parent, "--out", tmp_path / "report")
    assert code == 0 and err == ""
    (row,) = [line for line in out.splitlines() if line.startswith("│")]
    assert row.split("│")[1].strip() == "steady, diverged" and f" {shown} " in row


def test_when_every_run_is_unreadable_the_error_is_one_line_naming_each_file_exit_2_and_no_report(
        runs_dir, tmp_path, capsys):
    binary = make_run(runs_dir, "binary", seed=1)
    (binary / "metrics.csv").write_bytes(b"\xff" + os.urandom(512))
    truncated = make_run(runs_dir, "truncated", seed=2)
    (truncated / "run_info.json").write_text('{"run_id": ')
    code, out, err = compare(capsys, runs_dir.parent, "--out", tmp_path / "report")
    assert code == 2 and out == ""
    (error,) = err.splitlines()
    assert error.startswith("genlab-compare: error: no run could be read: ")
    assert f"{binary / 'metrics.csv'} is not UTF-8 text" in error
    assert f"{truncated / 'run_info.json'} is not valid JSON" in error
    assert not (tmp_path / "report").exists()


def test_console_script_skips_a_binary_metrics_csv_without_a_traceback(runs_dir, good_runs, tmp_path):
    bad_run = make_run(runs_dir, BAD_RUN_ID, seed=3)
    (bad_run / "metrics.csv").write_bytes(b"\xff" + os.urandom(4096))
    result = subprocess.run([sys.executable, "-m", "genlab.compare.cli", str(runs_dir.parent), "--no-group", "--out",
                             str(tmp_path / "report")], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [f"genlab-compare: warning: skipping {bad_run}: {bad_run / 'metrics.csv'} "
                                          "is not UTF-8 text (invalid start byte at byte 0)"]
    assert table_run_ids(result.stdout) == {"good1", "good2"}
    assert (tmp_path / "report" / HTML_FILE).is_file() and (tmp_path / "report" / PNG_FILE).is_file()
