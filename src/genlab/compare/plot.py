"""Metric curves of every run overlaid: one matplotlib figure, saved as compare.png and inlined as SVG in the HTML."""
import io
import math
import re

from genlab.compare.comparison import Comparison
from genlab.compare.metrics_csv import Series

TRACE_ID_PREFIX = "trace-"
PANEL_SIZE_IN = (6.0, 4.2)
LEGEND_WIDTH_IN = 3.2
LEGEND_ROW_HEIGHT_IN = 0.2
LEGEND_LABEL_CHARS = 48
LOG_SCALE_RATIO = 30.0  # a positive metric spanning more than this factor (FID from an untrained start) gets log axes
MAX_POINTS_PER_TRACE = 2000
MAX_POINTS_WITH_MARKERS = 30
PNG_DPI = 110


def trace_id(metric: str, run_id: str) -> str:
    """The SVG id of one run's line in one panel: trace-val_fid-1a2b3c4d."""
    return TRACE_ID_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "_", f"{metric}-{run_id}")


def plotted_points(series: Series) -> Series:
    """Finite points by step, thinned to at most MAX_POINTS_PER_TRACE (the last point always kept)."""
    points = sorted((point for point in series if math.isfinite(point[1])), key=lambda point: point[0])
    stride = math.ceil(len(points) / MAX_POINTS_PER_TRACE) if points else 1
    return points[::stride] + ([points[-1]] if stride > 1 and (len(points) - 1) % stride else [])


def legend_label(label: str) -> str:
    """Labels cut to fit beside the plots (the table and the sample captions carry them in full)."""
    return label if len(label) <= LEGEND_LABEL_CHARS else label[:LEGEND_LABEL_CHARS - 1] + "…"


def row_colors(count: int) -> list[str]:
    """A distinct colour per table row (a row's seeds share it): tab10 up to 10 rows, tab20 beyond, then repeating."""
    import matplotlib
    from matplotlib.colors import to_hex

    palette = matplotlib.colormaps["tab10" if count <= 10 else "tab20"].colors
    return [to_hex(palette[index % len(palette)]) for index in range(count)]


def curves_figure(comparison: Comparison):
    """One panel for the ranking metric, one for the training loss (if logged); one line per run, coloured by row."""
    from matplotlib.figure import Figure  # imported here: matplotlib costs ~0.5 s that `--help` should not pay
    from matplotlib.ticker import MaxNLocator

    metrics = [comparison.metric, *([comparison.train_metric] if comparison.train_metric else [])]
    rows = comparison.table.groups
    width, height = PANEL_SIZE_IN
    height = max(height, LEGEND_ROW_HEIGHT_IN * (len(rows) + 2))
    figure = Figure(figsize=(width * len(metrics) + LEGEND_WIDTH_IN, height), layout="constrained")
    colors = row_colors(len(rows))
    legend = {}
    for axes, metric in zip(figure.subplots(1, len(metrics), squeeze=False)[0], metrics):
        values = []
        for row, (group, label) in enumerate(zip(rows, comparison.row_labels)):
            for run in group:
                points = plotted_points(run.series.get(metric, []))
                if not points:
                    continue
                steps, run_values = zip(*points)
                values += run_values
                (line,) = axes.plot(steps, run_values, color=colors[row], linewidth=1.6, markersize=3,
                                    marker="o" if len(points) <= MAX_POINTS_WITH_MARKERS else None,
                                    label=legend_label(label))
                line.set_gid(trace_id(metric, run.run_id))
                legend.setdefault(row, line)
        if values and min(values) > 0 and max(values) / min(values) > LOG_SCALE_RATIO:
            axes.set_yscale("log")
        if not values:
            axes.text(0.5, 0.5, "no run logged this metric yet", ha="center", va="center", transform=axes.transAxes)
        title = f"{metric} ({comparison.mode} is best)" if metric == comparison.metric else metric
        axes.set(title=title, xlabel="step", ylabel=metric)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
    if legend:
        figure.legend(handles=[legend[row] for row in sorted(legend)], loc="outside right upper", fontsize="small",
                      frameon=False)
    return figure


def figure_png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI)
    return buffer.getvalue()


def figure_svg(figure) -> str:
    """The figure as an <svg> element to inline in HTML: text kept as text, ids stable between runs."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "genlab-compare"}):
        figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg"):]
