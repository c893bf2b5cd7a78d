"""How numbers, spreads and durations read in the comparison table."""
import math
import statistics


def format_number(value: float | None) -> str:
    """Four significant digits; empty for a missing value."""
    return "" if value is None else f"{value:.4g}"


def mean(values: list[float]) -> float:
    """The plain float mean: nan, inf and overflow come out as nan or inf, where statistics.fmean would raise."""
    return sum(values) / len(values)


def format_mean_std(values: list[float]) -> str:
    """"mean ± std" (sample std) over several runs, the value alone for one, empty for none; nan or inf alone when a
    run diverged (no spread to show)."""
    if len(values) < 2:
        return format_number(values[0] if values else None)
    if not all(math.isfinite(value) for value in values):
        return format_number(mean(values))
    return f"{mean(values):.4g} ± {statistics.stdev(values):.2g}"


def mean_or_none(values: list[float]) -> float | None:
    """The mean of the finite values, None when there are none (sorts such rows last)."""
    finite = [value for value in values if math.isfinite(value)]
    return mean(finite) if finite else None


def format_duration(seconds: float | None) -> str:
    """42s, 3m05s, 2h04m; empty when unknown."""
    if seconds is None:
        return ""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
