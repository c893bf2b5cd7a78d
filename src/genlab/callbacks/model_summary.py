"""Lightning's rich model summary without what only adds noise: rows of metric-state modules (torchmetrics sums a
model keeps for its DDP-exact val/test numbers) and a FLOPs column of zeros (Lightning counts FLOPs only for models
with an `example_input_array`)."""
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import RichModelSummary
from lightning.pytorch.utilities.model_summary.model_summary import get_formatted_model_size, get_human_readable_count
from torch import nn
from torchmetrics import Metric

NOT_SHOWN_WITHOUT_FLOPS = ("FLOPs",)


def holds_only_metrics(module: nn.Module) -> bool:
    """A torchmetrics Metric, or a container whose every leaf is one."""
    if isinstance(module, Metric):
        return True
    children = list(module.children())
    return bool(children) and all(map(holds_only_metrics, children))


class ModelSummaryTable(RichModelSummary):
    """RichModelSummary of the network layers alone; FLOPs shown only when Lightning counted some."""

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.metric_modules = {name for name, module in pl_module.named_modules() if name and holds_only_metrics(module)}
        super().on_fit_start(trainer, pl_module)

    def summarize(self, summary_data, total_parameters, trainable_parameters, model_size, total_training_modes,
                  total_flops, **summarize_kwargs) -> None:
        from rich import get_console
        from rich.table import Table

        columns = dict(summary_data)
        shown = [name for name in columns if total_flops or name not in NOT_SHOWN_WITHOUT_FLOPS]
        rows = [row for row in zip(*(columns[name] for name in shown)) if row[shown.index("Name")] not in self.metric_modules]
        if shown[0] == " ":  # Lightning's row numbers, counted again without the rows left out
            rows = [(str(number), *row[1:]) for number, row in enumerate(rows)]
        table = Table(header_style=summarize_kwargs.get("header_style", "bold magenta"))
        for name in shown:
            table.add_column(name if name.strip() else " ", justify="left" if name in ("Name", "Type", "Mode") else "right")
        for row in rows:
            table.add_row(*row)
        totals = Table.grid(expand=True)
        for label, value in [
            ("Trainable params", get_human_readable_count(int(trainable_parameters))),
            ("Non-trainable params", get_human_readable_count(int(total_parameters - trainable_parameters))),
            ("Total params", get_human_readable_count(int(total_parameters))),
            ("Total estimated model params size (MB)", get_formatted_model_size(model_size)),
            *([("Total FLOPs", get_human_readable_count(total_flops))] if total_flops else []),
        ]:
            totals.add_row(f"[bold]{label}[/]: {value}")
        console = get_console()
        console.print(table)
        console.print(totals)
