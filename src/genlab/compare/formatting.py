"""How numbers, spreads and durations read in the comparison table."""
import math
import statistics


def format_number(value: float | None) -> str:
    """Four significant digits; empty for a missing value."""
    return "" if value is None else f"{value:.4g}"


def format_mean_std(values: list[float]) -> str:
    """"mean ± std" (sample std) over several runs, the value alone for one, empty for none."""
    if len(values) < 2:
        return format_number(values[0] if values else None)
    return f"{statistics.fmean(values):.4g} ± {statistics.stdev(values):.2g}"


def mean_or_none(values: list[float]) -> float | None:
    """The mean of the finite values, None when there are none (sorts such rows last)."""
    finite = [value for value in values if math.isfinite(value)]
    return statistics.fmean(finite) if finite else None


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
