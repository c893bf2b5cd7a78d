"""compare.html: one self-contained page (inline CSS, JS, SVG and images; nothing fetched) with the sortable table,
the overlaid curves and each run's latest samples."""
import base64
from datetime import datetime
from html import escape

from genlab import __version__
from genlab.compare.comparison import Comparison
from genlab.compare.run_record import RunRecord

MAX_TEXT_SAMPLE_CHARS = 2000

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.meta { color: #555; margin: 2px 0; } code { background: #f3f3f3; padding: 1px 4px; }
.scroll { overflow-x: auto; } table { border-collapse: collapse; }
th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; white-space: nowrap; }
th { background: #f6f6f6; cursor: pointer; user-select: none; text-align: left; }
th[data-order="asc"]::after { content: " \\25B2"; } th[data-order="desc"]::after { content: " \\25BC"; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
td.completed { color: #1a7f37; } td.running { color: #0969da; } td.failed, td.dead { color: #cf222e; }
td.interrupted { color: #9a6700; } .notes { color: #cf222e; }
#curves svg { max-width: 100%; height: auto; }
#samples { display: flex; flex-wrap: wrap; gap: 16px; }
figure.sample { margin: 0; } figure.sample img { image-rendering: pixelated; width: 256px; border: 1px solid #ddd; }
figure.sample pre { max-width: 480px; max-height: 320px; overflow: auto; background: #f6f6f6; padding: 8px; }
figcaption { font-size: 12px; color: #555; max-width: 480px; }
"""

# Click a header to sort by it (again to reverse); empty cells stay last either way.
SCRIPT = """
document.querySelectorAll("table.sortable th").forEach((header, column) => header.addEventListener("click", () => {
  const table = header.closest("table"), body = table.tBodies[0];
  const ascending = header.dataset.order !== "asc";
  table.querySelectorAll("th").forEach(other => delete other.dataset.order);
  header.dataset.order = ascending ? "asc" : "desc";
  const key = row => {
    const value = row.cells[column].dataset.value;
    return value === undefined || value === "" ? null : (isNaN(value) ? value : Number(value));
  };
  const rows = Array.from(body.rows).sort((a, b) => {
    const x = key(a), y = key(b);
    if (x === null || y === null) return (x === null) - (y === null);
    return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
  });
  rows.forEach(row => body.appendChild(row));
}));
"""


def table_html(comparison: Comparison) -> str:
    """The table: each row names its runs (data-runs) and dirs (title); each cell carries its sort key."""
    table = comparison.table
    header = "".join(f'<th data-column="{escape(column)}">{escape(column)}</th>' for column in table.columns)
    body = []
    for row, group in zip(table.rows, table.groups):
        cells = []
        for column, cell in zip(table.columns, row):
            kind = cell.text if column == "status" else "number" if isinstance(cell.sort_value, (int, float)) else ""
            value = "" if cell.sort_value is None else escape(str(cell.sort_value))
            cells.append(f'<td class="{escape(kind)}" data-value="{value}">{escape(cell.text)}</td>')
        runs = " ".join(run.run_id for run in group)
        dirs = "\n".join(str(run.run_dir) for run in group)
        body.append(f'<tr data-runs="{escape(runs)}" title="{escape(dirs)}">{"".join(cells)}</tr>')
    return (f'<div class="scroll"><table id="runs" class="sortable"><thead><tr>{header}</tr></thead>'
            f'<tbody>\n{chr(10).join(body)}\n</tbody></table></div>')


def sample_html(run: RunRecord, label: str) -> str:
    """The run's latest sample grid as an inline PNG, or its latest text sample; empty if it has none."""
    path = run.latest_sample
    if path is None:
        return ""
    if path.suffix == ".png":
        data = base64.b64encode(path.read_bytes()).decode()
        content = f'<img alt="samples of {escape(run.run_id)}" src="data:image/png;base64,{data}">'
    else:
        text = path.read_text(errors="replace")
        clipped = text[:MAX_TEXT_SAMPLE_CHARS] + ("\n…" if len(text) > MAX_TEXT_SAMPLE_CHARS else "")
        content = f"<pre>{escape(clipped)}</pre>"
    caption = f"<figcaption>{escape(label)} · {escape(path.name)}</figcaption>"
    return f'<figure class="sample" data-run="{escape(run.run_id)}">{caption}{content}</figure>'


def render_html(comparison: Comparison, curves_svg: str) -> str:
    """The whole page; `curves_svg` is the figure from genlab.compare.plot as an <svg> element."""
    shared = " ".join(comparison.common_overrides) or "none"
    notes = "".join(f"<li>{escape(note)}</li>" for note in comparison.notes)
    samples = "".join(sample_html(run, comparison.labels[run.run_id]) for run in comparison.runs)
    generated = datetime.now().astimezone().isoformat(timespec="seconds")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>genlab-compare: {escape(comparison.metric)}</title>
<style>{STYLE}</style></head>
<body>
<h1>genlab-compare</h1>
<p class="meta">{len(comparison.runs)} runs in {len(comparison.table.rows)} rows, ranked by
<b>{escape(comparison.metric)}</b> ({comparison.mode} is best) · generated {generated}
by genlab {escape(__version__)}</p>
<p class="meta">shared overrides: <code>{escape(shared)}</code></p>
{table_html(comparison)}
<ul class="notes">{notes}</ul>
<h2>Curves</h2>
<div id="curves">{curves_svg}</div>
<h2>Latest samples</h2>
<div id="samples">{samples or '<p class="meta">no run wrote samples yet</p>'}</div>
<script>{SCRIPT}</script>
</body></html>
"""
