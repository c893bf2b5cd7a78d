"""genlab-compare ranks FID/KID/IS/PRDC only across runs measured under one protocol: otherwise one line names the
differing field and values, unless --allow-mixed-protocols; a malformed stored protocol counts as unknown."""
import csv
import json
from pathlib import Path

import pytest

from conftest import compare, table_run_ids

PROTOCOL = {"feature_net": "lenet-mnist-0123456789ab", "weights_sha256": "ab" * 32, "real_samples": 1000,
            "fake_samples": 1000, "reference_split": "val", "image_size": "28x28", "resize": "none"}


def make_run(runs_dir: Path, run_id: str, fid: float, protocol) -> Path:
    """A completed run that logged val/fid and val/loss, with `protocol` as its val split's stored protocol."""
    run_dir = runs_dir / f"2026-01-01_00-00-00_{run_id}"
    run_dir.mkdir(parents=True)
    info = {"run_id": run_id, "task_name": "toy", "overrides": [], "status": "completed", "error": None,
            "start_time": "2026-01-01T00:00:00+00:00", "end_time": "2026-01-01T00:01:00+00:00",
            "metrics_protocol": {"val": protocol}}
    (run_dir / "run_info.json").write_text(json.dumps(info))
    with open(run_dir / "metrics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["epoch", "step", "val/fid", "val/loss"])
        writer.writeheader()
        writer.writerow({"epoch": 0, "step": 10, "val/fid": fid, "val/loss": fid / 10})
    return run_dir


@pytest.fixture
def runs_dir(tmp_path) -> Path:
    return tmp_path / "outputs" / "toy" / "runs"


def test_fid_of_runs_with_different_sample_counts_is_refused_in_one_line_naming_the_field(runs_dir, tmp_path, capsys):
    make_run(runs_dir, "small", 9.0, PROTOCOL | {"real_samples": 500})
    make_run(runs_dir, "large", 12.0, PROTOCOL)
    code, out, err = compare(capsys, runs_dir, "--metric", "val/fid", "--out", tmp_path / "report")
    assert code == 2
    assert err.strip().splitlines() == [
        "genlab-compare: error: runs measured val/fid under different protocols (real_samples is 1000 in large but "
        "500 in small); their values do not compare: pass --allow-mixed-protocols to rank them anyway"]
    assert not (tmp_path / "report").exists()


def test_allow_mixed_protocols_ranks_them_and_notes_the_difference(runs_dir, tmp_path, capsys):
    make_run(runs_dir, "lenet", 9.0, PROTOCOL)
    make_run(runs_dir, "inception", 30.0, PROTOCOL | {"feature_net": "inception-v3-2048"})
    code, out, err = compare(capsys, runs_dir, "--metric", "val/fid", "--allow-mixed-protocols", "--no-group",
                             "--out", tmp_path)
    assert code == 0, err
    assert table_run_ids(out) == {"lenet", "inception"}
    assert "ranked across differing val/fid protocols: feature_net is 'inception-v3-2048' in inception" in out


def test_equal_protocols_rank_and_metrics_that_need_none_ignore_them(runs_dir, tmp_path, capsys):
    make_run(runs_dir, "a", 9.0, PROTOCOL)
    make_run(runs_dir, "b", 12.0, PROTOCOL)
    assert compare(capsys, runs_dir, "--metric", "val/fid", "--out", tmp_path)[0] == 0
    make_run(runs_dir, "c", 7.0, PROTOCOL | {"weights_sha256": "cd" * 32})
    assert compare(capsys, runs_dir, "--metric", "val/loss", "--out", tmp_path)[0] == 0


@pytest.mark.parametrize("malformed", [None, "lenet", ["val"], {"real_samples": {"nested": 1}}],
                         ids=["null", "a-string", "a-list", "nested-values"])
def test_a_malformed_stored_protocol_counts_as_unknown_without_a_traceback(runs_dir, tmp_path, capsys, malformed):
    make_run(runs_dir, "good", 9.0, PROTOCOL)
    make_run(runs_dir, "odd", 12.0, malformed)
    code, out, err = compare(capsys, runs_dir, "--metric", "val/fid", "--no-group", "--out", tmp_path)
    assert code == 0 and "Traceback" not in err, err
    assert table_run_ids(out) == {"good", "odd"}
