"""The comparison as a rich table on the terminal, with shared overrides and failures noted below it."""
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from genlab.compare.comparison import Comparison

STATUS_STYLES = {"completed": "green", "running": "cyan", "failed": "red", "dead": "red", "interrupted": "yellow"}


def print_comparison(comparison: Comparison, console: Console) -> None:
    """Print the table (numbers right-aligned, statuses coloured), then shared overrides and one line per problem."""
    table = comparison.table
    title = (f"{len(comparison.runs)} runs in {len(table.rows)} rows, ranked by {comparison.metric} "
             f"({comparison.mode} is best)")
    rich_table = Table(title=escape(title), header_style="bold", title_justify="left")
    for index, column in enumerate(table.columns):
        numeric = any(isinstance(row[index].sort_value, (int, float)) for row in table.rows)
        rich_table.add_column(escape(column), justify="right" if numeric else "left", overflow="fold")
    status_index = table.columns.index("status")
    for row in table.rows:
        cells = [escape(cell.text) for cell in row]
        style = STATUS_STYLES.get(row[status_index].text)
        if style:
            cells[status_index] = f"[{style}]{cells[status_index]}[/{style}]"
        rich_table.add_row(*cells)
    console.print(rich_table)
    if comparison.common_overrides:
        console.print(f"[dim]shared overrides:[/dim] {escape(' '.join(comparison.common_overrides))}")
    for note in comparison.notes:
        console.print(f"[red]![/red] {escape(note)}")
