"""Summarize finished runs as the README's model-zoo table: mean ± std over seeds per experiment.

Usage: python scripts/zoo_table.py OUTPUT_DIR [OUTPUT_DIR ...]
"""
import json
import statistics
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path

METRICS = ("test/acc", "test/nll_iw", "test/fid", "test/precision", "test/recall", "test/coverage", "val/fid_at_start",
           "test/class_min_frac", "test/class_max_frac", "val/loss", "val/bpc")


def wall_minutes(info: dict) -> float:
    start, end = (datetime.fromisoformat(info[key]) for key in ("start_time", "end_time"))
    return (end - start).total_seconds() / 60


def experiment_of(info: dict) -> str:
    overrides = dict(o.split("=", 1) for o in info["overrides"] if "=" in o)
    return overrides.get("experiment", info["task_name"])


def summarize(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{statistics.mean(values):.4g} ± {statistics.stdev(values):.2g}"


def main(roots: list[str]) -> None:
    groups: dict[str, list[dict]] = defaultdict(list)
    for path in sorted(p for root in roots for p in Path(root).glob("**/run_info.json")):
        info = json.loads(path.read_text())
        if info.get("status") == "completed":
            groups[experiment_of(info)].append(info)
    print("| experiment | seeds | wall time (min) | " + " | ".join(METRICS) + " | test/fid ÷ fid at start |")
    print("|---" * (len(METRICS) + 4) + "|")
    for name, runs in sorted(groups.items()):
        cells = [summarize([wall_minutes(r) for r in runs])]
        for metric in METRICS:
            values = [r["final_metrics"][metric] for r in runs if metric in r["final_metrics"]]
            cells.append(summarize(values) if values else "")
        ratios = [r["final_metrics"]["test/fid"] / r["final_metrics"]["val/fid_at_start"] for r in runs
                  if {"test/fid", "val/fid_at_start"} <= set(r["final_metrics"])]
        cells.append(summarize(ratios) if ratios else "")
        print(f"| {name} | {len(runs)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["outputs"])
