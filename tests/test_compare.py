"""Specification of genlab-compare on a real sweep (2 learning rates x 2 seeds): the table, its grouping, and the report
as a person sees it in headless Chromium (rows, one drawn trace per run, sorting, samples, nothing fetched)."""
import json
import os
import re
import shutil
import statistics
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import FAST, read_run_info, run_subprocess
from genlab.compare.cli import HTML_FILE, PNG_FILE, main
from genlab.compare.comparison import build_comparison
from genlab.compare.plot import trace_id

METRIC = "val/d_loss"  # the sweep's optimized_metric (no FID feature net: keeps the sweep to ~35 s)
SWEEP = ["-m", *FAST, "test=false", "metrics.feature_net=null", f"optimized_metric={METRIC}",
         "model.lr=1e-4,2e-4", "seed=1,2"]
WINDOW = (1400, 1800)


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory, cache_dir) -> Path:
    """A real 4-job multirun, trained once for this module."""
    out = tmp_path_factory.mktemp("compare_sweep") / "outputs"
    result = run_subprocess("train", *SWEEP, env={"GENLAB_OUTPUT_DIR": str(out), "GENLAB_CACHE_DIR": str(cache_dir)})
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = (out / "dcgan_digits" / "multiruns").iterdir()
    return sweep


@pytest.fixture(scope="module")
def report(sweep_dir) -> subprocess.CompletedProcess:
    """`genlab-compare <sweep dir>` run as a user would, with every default."""
    result = run_subprocess("compare.cli", str(sweep_dir))
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """Run headless Chromium on a file; skips without it, unless GENLAB_REQUIRE_BROWSER=1 (CI), where that fails."""
    binary = shutil.which("chromium")
    if binary is None:
        message = "chromium is not installed (scripts/setup_test_services.sh installs it when run as root)"
        if os.environ.get("GENLAB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message} (GENLAB_REQUIRE_BROWSER=1)")
        pytest.skip(message)
    profile = tmp_path_factory.mktemp("chromium_profile")

    def run(page: Path, *args: str) -> str:
        result = subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                 f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
                                check=False, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    return run


def run_ids(sweep_dir: Path) -> dict[tuple[float, int], str]:
    """{(lr, seed): run_id} of the sweep's jobs, from their run_info.json."""
    ids = {}
    for job in sorted(p for p in sweep_dir.iterdir() if p.name.isdigit()):
        overrides = dict(item.split("=", 1) for item in read_run_info(job)["overrides"])
        ids[float(overrides["model.lr"]), int(overrides["seed"])] = read_run_info(job)["run_id"]
    return ids


def final_metric(sweep_dir: Path, run_id: str) -> float:
    (job,) = [p for p in sweep_dir.iterdir() if p.name.isdigit() and read_run_info(p)["run_id"] == run_id]
    return read_run_info(job)["final_metrics"][METRIC]


def test_sweep_defaults_rank_by_its_optimized_metric_with_one_row_per_lr_averaging_two_seeds(sweep_dir, report):
    comparison = build_comparison([str(sweep_dir)])
    ids = run_ids(sweep_dir)
    assert (comparison.metric, comparison.mode) == (METRIC, "min")
    table = comparison.table
    assert table.columns[:5] == ["run", "model.lr", "seed", "status", "n"]
    assert [f"{METRIC} best", f"{METRIC} final"] == table.columns[5:7]
    assert len(table.rows) == 2
    for row, group in zip(table.rows, table.groups):
        lr = float(row[1].text)
        assert {run.run_id for run in group} == {ids[lr, 1], ids[lr, 2]}
        assert [cell.text for cell in row[2:5]] == ["1, 2", "completed", "2"]
        finals = [final_metric(sweep_dir, ids[lr, seed]) for seed in (1, 2)]
        assert row[6].sort_value == pytest.approx(statistics.fmean(finals))
        assert row[6].text == f"{statistics.fmean(finals):.4g} ± {statistics.stdev(finals):.2g}"
        assert row[-2].text == "7"  # 2 epochs x 4 batches: last step 7
    best = [row[5].sort_value for row in table.rows]
    assert best == sorted(best)
    assert "4 runs in 2 rows, ranked by val/d_loss (min is best)" in report.stdout
    assert all(run_id in report.stdout for run_id in ids.values())


def test_report_lands_in_the_sweep_dir_as_an_html_page_and_a_png_of_the_curves(sweep_dir, report):
    assert f"wrote {sweep_dir / HTML_FILE} and {sweep_dir / PNG_FILE}" in report.stdout
    png = Image.open(sweep_dir / PNG_FILE).convert("RGB")
    assert png.width > 1000 and len(set(png.getdata())) > 50
    assert not [p.name for p in sweep_dir.iterdir() if p.name.endswith(".tmp")]


def test_group_by_seed_makes_one_row_per_seed_listing_both_lrs(sweep_dir, tmp_path, capsys):
    main([str(sweep_dir), "--group-by", "seed", "--out", str(tmp_path)])
    comparison = build_comparison([str(sweep_dir)], group_by=["seed"])
    assert [[cell.text for cell in row[1:3]] for row in comparison.table.rows] in (
        [["1", "0.0001, 0.0002"], ["2", "0.0001, 0.0002"]], [["2", "0.0001, 0.0002"], ["1", "0.0001, 0.0002"]])
    assert comparison.table.columns[1:3] == ["seed", "model.lr"]
    assert "4 runs in 2 rows" in capsys.readouterr().out


def test_no_group_with_mode_max_lists_every_run_worst_loss_first(sweep_dir):
    comparison = build_comparison([str(sweep_dir)], mode="max", no_group=True)
    assert len(comparison.table.rows) == 4 and "n" not in comparison.table.columns
    best = [row[comparison.table.columns.index(f"{METRIC} best")].sort_value for row in comparison.table.rows]
    assert best == sorted(best, reverse=True)


def dumped_dom(chromium, page: Path) -> str:
    return chromium(page, "--dump-dom")


def test_report_in_chromium_has_a_row_per_group_a_trace_per_run_and_each_runs_samples(chromium, sweep_dir, report):
    dom = dumped_dom(chromium, sweep_dir / HTML_FILE)
    ids = run_ids(sweep_dir)
    rows = re.findall(r'<tr data-runs="([^"]*)"', dom)
    assert sorted(sorted(row.split()) for row in rows) == sorted(
        sorted([ids[lr, 1], ids[lr, 2]]) for lr in (1e-4, 2e-4))
    for run_id in ids.values():
        for metric in (METRIC, "train/g_loss"):
            trace = re.search(rf'<g id="{trace_id(metric, run_id)}">\s*<path d="([^"]*)"', dom)
            assert trace, f"no {metric} trace for {run_id}"
            assert trace.group(1).count("L") >= 1  # a line, not a lone point
        assert re.search(rf'<figure class="sample" data-run="{run_id}">.*?<img [^>]*src="data:image/png;base64,', dom)
    assert len(re.findall(r'<g id="trace-', dom)) == 8


def test_report_is_self_contained(sweep_dir, report):
    html = (sweep_dir / HTML_FILE).read_text()
    assert not re.search(r'(src|href)="(https?:)?//|url\(\s*["\']?(https?:)?//|@import|<link', html)
    assert "<script src" not in html


def trace_colors(dom: str) -> dict[str, str]:
    """{trace id: stroke colour} of the ranking metric's traces (one per run)."""
    return dict(re.findall(rf'<g id="({trace_id(METRIC, "")}[^"]+)">\s*<path d="[^"]*"[^>]*stroke: (#[0-9a-f]{{6}})',
                           dom))


def pixels_near(image: Image.Image, color: str, tolerance: int = 40) -> int:
    """How many pixels are within `tolerance` (summed over RGB) of `color`."""
    target = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(np.asarray(image, dtype=int) - target).sum(axis=-1) <= tolerance).sum())


@pytest.mark.parametrize("options, distinct_colors", [([], 2), (["--no-group"], 4)], ids=["rows-by-lr", "no-group"])
def test_screenshot_shows_every_runs_trace_in_the_colour_of_its_table_row(chromium, sweep_dir, tmp_path, capsys,
                                                                          options, distinct_colors):
    main([str(sweep_dir), *options, "--out", str(tmp_path)])
    dom = dumped_dom(chromium, tmp_path / HTML_FILE)
    colors = trace_colors(dom)
    assert len(colors) == 4 and len(set(colors.values())) == distinct_colors
    for row in re.findall(r'<tr data-runs="([^"]*)"', dom):
        assert len({colors[trace_id(METRIC, run_id)] for run_id in row.split()}) == 1
    shot = tmp_path / "compare_screenshot.png"
    chromium(tmp_path / HTML_FILE, f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}")
    image = Image.open(shot).convert("RGB")
    assert image.size == WINDOW
    # a legend swatch is ~40 px of a colour; each row's lines in the two panels are several hundred
    assert {color: pixels_near(image, color) > 200 for color in colors.values()} == dict.fromkeys(colors.values(), True)


def test_clicking_a_header_twice_sorts_the_table_descending_by_that_column(chromium, sweep_dir, report, tmp_path):
    html = (sweep_dir / HTML_FILE).read_text()
    before = re.findall(r'<tr data-runs="([^"]*)"', dumped_dom(chromium, sweep_dir / HTML_FILE))
    header = json.dumps(f'th[data-column="{METRIC} best"]')
    clicks = f"<script>for (let i = 0; i < 2; i++) document.querySelector({header}).click();</script></body>"
    clicked = tmp_path / "clicked.html"
    clicked.write_text(html.replace("</body>", clicks))
    dom = dumped_dom(chromium, clicked)
    assert re.findall(r'<tr data-runs="([^"]*)"', dom) == before[::-1]
    assert re.search(rf'<th data-column="{METRIC} best" data-order="desc">', dom)
