"""genlab-compare PATH...: table of runs side by side on the terminal, plus compare.html and compare.png."""
import argparse
import sys
from pathlib import Path
from typing import NoReturn

from rich.console import Console

from genlab.cli.errors import USER_ERROR_EXIT_CODE
from genlab.compare.comparison import Comparison, build_comparison
from genlab.compare.console import print_comparison
from genlab.compare.discover import default_out_dir
from genlab.compare.errors import CompareInputError
from genlab.compare.metrics_csv import METRICS_FILE
from genlab.runs.atomic import write_atomic

HTML_FILE = "compare.html"
PNG_FILE = "compare.png"
PIPED_WIDTH = 200  # rich would fold the table to 80 columns when stdout is a file or a pipe


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse reporting bad arguments as the one `genlab-compare: error: ...` line, like every other bad input."""

    def error(self, message: str) -> NoReturn:
        fail(message)


def fail(message: str) -> NoReturn:
    """Report bad input as one line and exit with genlab's user-error code."""
    print(f"genlab-compare: error: {message}", file=sys.stderr)
    sys.exit(USER_ERROR_EXIT_CODE)


def warn(message: str) -> None:
    """Report input genlab-compare goes on without as one line."""
    print(f"genlab-compare: warning: {message}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="genlab-compare",
        description="Compare genlab runs: a table on the terminal, and compare.html (sortable table, overlaid\n"
                    "curves, latest samples) plus compare.png (the curves).",
        epilog="Examples:\n  genlab-compare outputs/dcgan_digits\n"
               "  genlab-compare outputs/dcgan_digits/multiruns/<sweep> --metric val/fid --group-by model.lr",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a run dir, a multirun (sweep) dir or a task dir")
    parser.add_argument("--metric", help="metric that ranks the runs (default: the runs' optimized_metric, "
                                         "else val/loss or val/fid)")
    parser.add_argument("--mode", help="min or max: which value of --metric is best (default: the runs' checkpoint "
                                       "mode for their optimized_metric, else max for accuracy/IS, min otherwise)")
    grouping = parser.add_mutually_exclusive_group()
    grouping.add_argument("--group-by", metavar="KEYS", help="comma-separated config keys whose values make a row "
                                                            "(default: every differing key but seed)")
    grouping.add_argument("--no-group", action="store_true", help="one row per run, seeds included")
    parser.add_argument("--allow-mixed-protocols", action="store_true",
                        help="rank sample-quality metrics (FID, KID, IS, PRDC) even when the runs measured them "
                             "differently (feature net, weights, sample counts, split, image size)")
    parser.add_argument("--out", metavar="DIR", help="where compare.html/png go (default: the multirun or task dir "
                                                    "holding all the runs, else the current dir)")
    return parser


def write_report(comparison: Comparison, out_dir: Path) -> tuple[Path, Path]:
    """Render both files in memory first, then write each atomically: a failure leaves no partial file."""
    from genlab.compare.html_report import render_html
    from genlab.compare.plot import curves_figure, figure_png, figure_svg

    figure = curves_figure(comparison)
    html, png = render_html(comparison, figure_svg(figure)).encode(), figure_png(figure)
    html_path, png_path = out_dir / HTML_FILE, out_dir / PNG_FILE
    write_atomic(html_path, html)
    write_atomic(png_path, png)
    return html_path, png_path


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    group_by = [key.strip() for key in args.group_by.split(",") if key.strip()] if args.group_by else None
    try:
        comparison = build_comparison(args.paths, args.metric, args.mode, group_by, args.no_group,
                                      args.allow_mixed_protocols)
        out_dir = Path(args.out) if args.out else default_out_dir(comparison.run_dirs)
        if out_dir.exists() and not out_dir.is_dir():
            raise CompareInputError(f"--out {out_dir}: not a directory")
    except CompareInputError as error:
        fail(str(error))
    for run_dir, reason in comparison.skipped.items():
        warn(f"skipping {run_dir}: {reason}")
    for run in comparison.runs:
        if run.skipped_rows:
            warn(f"{run.run_dir / METRICS_FILE}: skipped {run.skipped_rows} row(s) whose step is not a whole finite "
                 "number; the run's other rows are compared")
    print_comparison(comparison, Console() if sys.stdout.isatty() else Console(width=PIPED_WIDTH))
    try:
        html_path, png_path = write_report(comparison, out_dir)
    except OSError as error:
        fail(f"cannot write the report to {out_dir}: {error.strerror or error}")
    print(f"wrote {html_path} and {png_path}")


if __name__ == "__main__":
    main()
