"""Specification of genlab-compare on hand-made run dirs: live and dead heartbeats, failed runs, missing metrics,
metric and mode defaults, override comparison, samples, and one-line errors for bad input."""
import csv
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from PIL import Image

from conftest import compare
from genlab.compare.cli import HTML_FILE, PNG_FILE, main
from genlab.compare.comparison import build_comparison
from genlab.runs.multirun_summary import SUMMARY_COLUMNS, write_summary
from genlab.runs.run_info import HEARTBEAT_SECONDS

Points = list[tuple[int, float]]


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def make_run(parent: Path, run_id: str, overrides: tuple[str, ...] = (), metrics: dict[str, Points] | None = None,
             config: dict | None = None, status: str = "completed", error: str | None = None,
             heartbeat_age_s: float = 0.0, duration_s: float = 60.0, dir_name: str | None = None) -> Path:
    """A run dir as genlab-train leaves it: run_info.json, .hydra/{overrides,config}.yaml, a sparse metrics.csv."""
    run_dir = parent / (dir_name or f"2026-01-01_00-00-00_{run_id}")
    (run_dir / ".hydra").mkdir(parents=True)
    heartbeat = datetime.now(timezone.utc) - timedelta(seconds=heartbeat_age_s)
    info = {"run_id": run_id, "task_name": "toy", "run_dir": str(run_dir), "overrides": list(overrides),
            "status": status, "error": error, "start_time": iso(heartbeat - timedelta(seconds=duration_s)),
            "end_time": None if status == "running" else iso(heartbeat), "heartbeat": iso(heartbeat),
            "resumed_times": [], "final_metrics": {}}
    (run_dir / "run_info.json").write_text(json.dumps(info))
    (run_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(list(overrides)))
    (run_dir / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config or {}))
    metrics = metrics if metrics is not None else {"val/loss": [(9, 1.0)]}
    with open(run_dir / "metrics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["epoch", "step", *metrics])
        writer.writeheader()
        writer.writerows({"step": step, name: value} for name, points in metrics.items() for step, value in points)
    return run_dir


@pytest.fixture
def task_dir(tmp_path) -> Path:
    return tmp_path / "outputs" / "toy"


@pytest.fixture
def runs_dir(task_dir) -> Path:
    return task_dir / "runs"



def column(comparison, name: str) -> list[str]:
    index = comparison.table.columns.index(name)
    return [row[index].text for row in comparison.table.rows]


def test_running_run_with_a_fresh_heartbeat_is_running_and_one_with_a_stale_heartbeat_is_dead(runs_dir):
    make_run(runs_dir, "alive", ("seed=1",), status="running", heartbeat_age_s=1, duration_s=100)
    make_run(runs_dir, "gone", ("seed=2",), status="running", heartbeat_age_s=10 * HEARTBEAT_SECONDS, duration_s=100)
    comparison = build_comparison([str(runs_dir.parent)], no_group=True)
    status = dict(zip(column(comparison, "run"), column(comparison, "status")))
    assert status == {"alive": "running", "gone": "dead"}
    wall = {run.run_id: run.wall_time_s for run in comparison.runs}
    assert 100 <= wall["alive"] <= 110 and wall["gone"] == 100  # alive: until now; dead: until its last heartbeat
    (note,) = comparison.notes
    assert note.startswith("gone dead: process gone: last heartbeat 10") and note.endswith("_gone)")


def test_failed_run_shows_failed_and_its_error_under_the_table(runs_dir, capsys):
    make_run(runs_dir, "ok", ("model.lr=0.1",))
    make_run(runs_dir, "broke", ("model.lr=10",), status="failed", error="DivergenceError: train/loss is nan at step 3")
    code, out, _ = compare(capsys, runs_dir.parent, "--out", runs_dir.parent / "report")
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│")}
    assert code == 0 and "failed" in rows["broke"] and "completed" in rows["ok"]
    assert "! broke failed: DivergenceError: train/loss is nan at step 3" in out


def test_runs_missing_the_metric_sort_last_and_a_partial_group_says_how_many_logged_it(runs_dir):
    make_run(runs_dir, "lr1seed1", ("model.lr=1", "seed=1"), {"val/loss": [(5, 2.0)]})
    make_run(runs_dir, "lr1seed2", ("model.lr=1", "seed=2"), {"train/loss": [(5, 9.0)]})
    make_run(runs_dir, "lr2seed1", ("model.lr=2", "seed=1"), {"val/loss": [(5, 3.0)]})
    make_run(runs_dir, "lr3seed1", ("model.lr=3", "seed=1"), {"train/loss": [(5, 9.0)]})
    comparison = build_comparison([str(runs_dir.parent)])
    assert column(comparison, "model.lr") == ["1", "2", "3"]
    assert column(comparison, "val/loss best") == ["2 (1/2 runs)", "3", ""]


def test_best_is_the_min_or_max_of_logged_values_and_final_the_last_one_even_if_nan(runs_dir):
    make_run(runs_dir, "wavy", ("seed=1",), {"val/loss": [(1, 3.0), (2, 1.0), (3, 2.0)]})
    make_run(runs_dir, "diverged", ("seed=2",), {"val/loss": [(1, 2.5), (2, float("nan"))]})
    by_min = build_comparison([str(runs_dir.parent)], no_group=True)
    assert dict(zip(column(by_min, "run"), zip(column(by_min, "val/loss best"), column(by_min, "val/loss final")))) == {
        "wavy": ("1", "2"), "diverged": ("2.5", "nan")}
    assert column(by_min, "run") == ["wavy", "diverged"]
    by_max = build_comparison([str(runs_dir.parent)], mode="max", no_group=True)
    assert column(by_max, "run") == ["wavy", "diverged"] and column(by_max, "val/loss best") == ["3", "2.5"]
    assert column(by_max, "steps") == ["3", "2"]


CLASSIFIER = {"optimized_metric": "val/acc", "callbacks": {"model_checkpoint": {"mode": "max"}}}


@pytest.mark.parametrize("configs, metrics, expected", [
    ([CLASSIFIER, CLASSIFIER], {"val/acc": [(1, 0.9)], "val/loss": [(1, 0.3)]}, ("val/acc", "max")),
    ([{}, {}], {"val/fid": [(1, 50.0)]}, ("val/fid", "min")),
    ([{}, {}], {"val/fid": [(1, 50.0)], "val/loss": [(1, 0.3)]}, ("val/loss", "min")),
    ([CLASSIFIER, {"optimized_metric": "val/fid"}], {"val/fid": [(1, 50.0)], "val/loss": [(1, 0.3)]},
     ("val/loss", "min")),
], ids=["optimized-metric-and-its-checkpoint-mode", "val-fid", "val-loss-before-val-fid", "disagreeing-optimized"])
def test_default_metric_and_mode(runs_dir, configs, metrics, expected):
    for seed, config in enumerate(configs):
        make_run(runs_dir, f"run{seed}", (f"seed={seed}",), metrics, config=config)
    comparison = build_comparison([str(runs_dir.parent)])
    assert (comparison.metric, comparison.mode) == expected


def test_accuracy_given_as_metric_is_best_at_its_max(runs_dir):
    make_run(runs_dir, "run0", (), {"val/acc": [(1, 0.8), (2, 0.9)]})
    assert build_comparison([str(runs_dir.parent)], metric="val/acc").mode == "max"


def test_lr_written_as_1e_4_or_0_0001_is_one_setting_so_its_two_seeds_share_a_row(runs_dir):
    make_run(runs_dir, "a", ("model.lr=1e-4", "seed=1"), {"val/loss": [(1, 1.0)]})
    make_run(runs_dir, "b", ("model.lr=0.0001", "seed=2"), {"val/loss": [(1, 3.0)]})
    comparison = build_comparison([str(runs_dir.parent)])
    assert comparison.table.columns[:4] == ["run", "seed", "status", "n"]
    assert [cell.text for cell in comparison.table.rows[0][:4]] == ["a, b", "1, 2", "completed", "2"]
    assert column(comparison, "val/loss best") == ["2 ± 1.4"]
    assert comparison.common_overrides == ["model.lr=0.0001"]


def test_paths_and_the_progress_bar_are_not_compared(runs_dir):
    make_run(runs_dir, "a", ("paths.data_dir=/data/a", "callbacks.rich_progress_bar=null"))
    make_run(runs_dir, "b", ("paths.data_dir=/data/b",))
    comparison = build_comparison([str(runs_dir.parent)])
    assert comparison.table.columns[:3] == ["run", "status", "n"] and column(comparison, "n") == ["2"]


def test_a_key_one_run_leaves_at_its_default_shows_that_runs_config_value(runs_dir):
    make_run(runs_dir, "tuned", ("model.lr=0.001",), {"val/loss": [(1, 1.0)]}, config={"model": {"lr": 0.001}})
    make_run(runs_dir, "default", (), {"val/loss": [(1, 2.0)]}, config={"model": {"lr": 0.0002}})
    assert column(build_comparison([str(runs_dir.parent)]), "model.lr") == ["0.001", "0.0002"]


def test_report_embeds_each_runs_latest_sample_grid_or_text_sample(runs_dir, tmp_path, capsys):
    image_run = make_run(runs_dir, "gan", ("seed=1",))
    text_run = make_run(runs_dir, "lm", ("seed=2",))
    (image_run / "samples").mkdir()
    for epoch, color in ((1, "red"), (2, "blue"), (10, "green")):
        Image.new("RGB", (8, 8), color).save(image_run / "samples" / f"epoch_{epoch:03d}.png")
    (text_run / "samples").mkdir()
    (text_run / "samples" / "step_000010.txt").write_text("old sample")
    (text_run / "samples" / "step_000020.txt").write_text("ROMEO: <b>new</b> & more")
    code, _, _ = compare(capsys, runs_dir.parent, "--no-group", "--out", tmp_path / "report")
    html = (tmp_path / "report" / HTML_FILE).read_text()
    assert code == 0 and "epoch_010.png" in html and "epoch_002.png" not in html
    assert "ROMEO: &lt;b&gt;new&lt;/b&gt; &amp; more" in html and "old sample" not in html


@pytest.mark.parametrize("args, message", [
    (["missing"], "missing: no such directory"),
    (["plain"], "plain is not a run, multirun or task directory"),
    (["empty_task"], "empty_task: this task directory holds no runs yet"),
    (["outputs/toy", "--metric", "val/nope"], "unknown --metric 'val/nope': no run logged it; logged: val/loss"),
    (["outputs/toy", "--mode", "avg"], "bad --mode 'avg': use min or max"),
    (["outputs/toy", "--group-by", "model.nope"], "unknown --group-by key 'model.nope'"),
    (["outputs/toy", "--group-by", "seed", "--no-group"], "argument --no-group: not allowed with argument --group-by"),
], ids=["missing-path", "plain-dir", "empty-task", "unknown-metric", "bad-mode", "unknown-group-key", "both-groupings"])
def test_bad_input_is_one_error_line_naming_it_exit_code_2_and_no_report(tmp_path, runs_dir, capsys, monkeypatch,
                                                                           args, message):
    make_run(runs_dir, "a", ("seed=1",))
    (tmp_path / "plain").mkdir()
    (tmp_path / "empty_task" / "runs").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    code, out, err = compare(capsys, *args, "--out", tmp_path / "report")
    assert code == 2 and out == ""
    assert err.startswith("genlab-compare: error: ") and err.count("\n") == 1 and message in err
    assert not (tmp_path / "report").exists()


def test_no_file_is_written_when_rendering_fails(runs_dir, tmp_path, monkeypatch, capsys):
    make_run(runs_dir, "a", ("seed=1",))

    def broken_png(figure):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr("genlab.compare.plot.figure_png", broken_png)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        main([str(runs_dir.parent), "--out", str(tmp_path / "report")])
    assert not (tmp_path / "report").exists()


def test_report_goes_to_the_task_dir_for_one_task_and_to_the_current_dir_for_two(tmp_path, capsys, monkeypatch):
    first = make_run(tmp_path / "outputs" / "toy" / "runs", "a", ("seed=1",))
    make_run(tmp_path / "outputs" / "other" / "runs", "b", ("seed=2",))
    monkeypatch.chdir(tmp_path)
    assert compare(capsys, first.parent.parent)[0] == 0
    assert (tmp_path / "outputs" / "toy" / HTML_FILE).is_file() and (tmp_path / "outputs" / "toy" / PNG_FILE).is_file()
    code, out, _ = compare(capsys, "outputs/toy", "outputs/other")
    assert code == 0 and f"wrote {tmp_path / HTML_FILE} and {tmp_path / PNG_FILE}" in out


def test_sweep_job_that_failed_before_writing_run_info_takes_status_and_error_from_the_summary(task_dir):
    sweep = task_dir / "multiruns" / "2026-01-01_00-00-00_abcd1234"
    make_run(sweep, "good", ("seed=1",), dir_name="0")
    (sweep / "1" / ".hydra").mkdir(parents=True)
    (sweep / "1" / ".hydra" / "config.yaml").write_text("seed: 2\n")
    rows = [{"job_num": 0, "run_id": "good", "overrides": "seed=1", "status": "completed"},
            {"job_num": 1, "run_id": None, "overrides": "seed=2", "status": "failed",
             "error": "ConfigError: model.lr must be > 0", "wall_time_s": 0.5}]
    write_summary(sweep, [{key: row.get(key) for key in SUMMARY_COLUMNS} for row in rows])
    comparison = build_comparison([str(sweep)], no_group=True)
    assert dict(zip(column(comparison, "run"), column(comparison, "status"))) == {"good": "completed", "1": "failed"}
    assert any("1 failed: ConfigError: model.lr must be > 0" in note for note in comparison.notes)


def test_a_run_named_twice_is_compared_once(runs_dir):
    run_dir = make_run(runs_dir, "a", ("seed=1",))
    make_run(runs_dir, "b", ("seed=2",))
    comparison = build_comparison([str(run_dir), str(runs_dir.parent)], no_group=True)
    assert [run.run_id for run in comparison.runs] == ["a", "b"]


def test_a_tasks_runs_or_multiruns_folder_names_the_runs_inside_it(task_dir):
    make_run(task_dir / "runs", "single", ("seed=1",))
    make_run(task_dir / "multiruns" / "2026-01-01_00-00-00_abcd1234", "job", ("seed=2",), dir_name="0")
    assert [run.run_id for run in build_comparison([str(task_dir / "runs")]).runs] == ["single"]
    assert [run.run_id for run in build_comparison([str(task_dir / "multiruns")]).runs] == ["job"]


def test_help_is_fast_and_the_package_never_imports_torch_or_lightning(runs_dir, tmp_path):
    make_run(runs_dir, "a", ("seed=1",))
    frameworks = "print(sorted({name.split('.')[0] for name in sys.modules} & {'torch', 'lightning', 'matplotlib'}))"
    importing = ("import sys, pkgutil, importlib, genlab.compare\n"
                 "for module in pkgutil.iter_modules(genlab.compare.__path__):\n"
                 "    importlib.import_module('genlab.compare.' + module.name)\n" + frameworks)
    reporting = ("import sys\nfrom genlab.compare.cli import main\n"
                 f"main([{str(runs_dir)!r}, '--out', {str(tmp_path)!r}])\n" + frameworks)
    for code, expected in ((importing, "[]"), (reporting, "['matplotlib']")):
        result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
        assert result.stdout.strip().splitlines()[-1] == expected, result.stderr
    started = time.monotonic()
    helped = subprocess.run([sys.executable, "-m", "genlab.compare.cli", "--help"], check=False, capture_output=True,
                            text=True, timeout=60)
    assert helped.returncode == 0 and "--group-by KEYS" in helped.stdout and time.monotonic() - started < 5
