"""Which metric ranks the runs and in which direction, and which other metrics the report shows beside it."""
from collections.abc import Iterable
from typing import Any

from genlab.compare.errors import CompareInputError
from genlab.compare.run_record import RunRecord

MODES = ("min", "max")
FALLBACK_METRICS = ("val/loss", "val/fid")
KEY_METRICS = ("val/fid", "val/kid_mean", "val/is_mean", "val/loss", "val/acc", "val/bpc", "val/ppl",
               "train/loss", "train/g_loss", "train/d_loss")
TRAIN_LOSS_METRICS = ("train/loss", "train/g_loss")
HIGHER_IS_BETTER = ("acc", "accuracy", "is_mean", "precision", "recall", "density", "coverage", "class_min_frac")
MAX_EXTRA_METRICS = 3


def logged_metrics(runs: list[RunRecord]) -> set[str]:
    return {name for run in runs for name in run.series}


def agreed(values: Iterable[Any]) -> Any:
    """The one value the runs set (runs that set none ignored); None when they set none or disagree."""
    distinct = {value for value in values if value is not None}
    return distinct.pop() if len(distinct) == 1 else None


def optimized_metric(runs: list[RunRecord]) -> str | None:
    """The runs' common `optimized_metric` from their composed configs."""
    return agreed(run.config.get("optimized_metric") for run in runs)


def checkpoint_mode(run: RunRecord) -> str | None:
    """The direction the run's checkpoint callback optimized `optimized_metric` in."""
    callbacks = run.config.get("callbacks") or {}
    return (callbacks.get("model_checkpoint") or {}).get("mode")


def describe_logged(runs: list[RunRecord]) -> str:
    names = sorted(name for name in logged_metrics(runs) if "/device/" not in name)
    return ", ".join(names) or "none (no run has a metrics.csv with values yet)"


def choose_metric(runs: list[RunRecord], requested: str | None) -> str:
    """--metric if some run logged it; else the common optimized_metric; else val/loss or val/fid."""
    logged = logged_metrics(runs)
    if requested:
        if requested not in logged:
            raise CompareInputError(
                f"unknown --metric '{requested}': no run logged it; logged: {describe_logged(runs)}")
        return requested
    fallback = next((name for name in FALLBACK_METRICS if name in logged), None)
    chosen = optimized_metric(runs) or fallback
    if chosen is None:
        raise CompareInputError("no --metric given, the runs share no optimized_metric and none logged "
                                f"{' or '.join(FALLBACK_METRICS)}; pass --metric, one of: {describe_logged(runs)}")
    return chosen


def metric_direction(name: str) -> str:
    """max for accuracy-like metrics, Inception Score, PRDC and the rarest class's share; min for losses, FID, KID,
    perplexity."""
    return "max" if name.rsplit("/", 1)[-1] in HIGHER_IS_BETTER else "min"


def choose_mode(runs: list[RunRecord], metric: str, requested: str | None) -> str:
    """--mode; else the runs' checkpoint mode when `metric` is their optimized_metric; else by the metric's name."""
    if requested is not None:
        if requested not in MODES:
            raise CompareInputError(f"bad --mode '{requested}': use min or max")
        return requested
    if metric == optimized_metric(runs):
        mode = agreed(checkpoint_mode(run) for run in runs if run.config.get("optimized_metric") == metric)
        if mode in MODES:
            return mode
    return metric_direction(metric)


def extra_metrics(runs: list[RunRecord], metric: str) -> list[str]:
    """A few key metrics besides `metric` that the runs logged."""
    logged = logged_metrics(runs)
    return [name for name in KEY_METRICS if name != metric and name in logged][:MAX_EXTRA_METRICS]


def train_loss_metric(runs: list[RunRecord], metric: str) -> str | None:
    """The training loss to plot beside `metric` (the generator's for GANs), if logged."""
    logged = logged_metrics(runs)
    return next((name for name in TRAIN_LOSS_METRICS if name != metric and name in logged), None)
