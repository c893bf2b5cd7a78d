"""Prints the composed config as a rich tree (and saves it beside the run)."""
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.tree import Tree

FIRST_KEYS = ("data", "model", "metrics", "trainer", "callbacks", "logger", "paths")


def print_config_tree(cfg: DictConfig, save_to: Path | None = None) -> None:
    """One branch per top-level group, main groups first; plain keys in a final branch."""
    tree = Tree("config", guide_style="dim")
    groups = [key for key in FIRST_KEYS if key in cfg] + [k for k in cfg if k not in FIRST_KEYS and OmegaConf.is_config(cfg[k])]
    for key in groups:
        text = OmegaConf.to_yaml(cfg[key], resolve=True) if cfg[key] is not None else "null\n"
        tree.add(f"[bold]{key}").add(Syntax(text, "yaml", background_color="default"))
    scalars = {key: cfg[key] for key in cfg if key not in groups}
    tree.add("[bold]run").add(Syntax(OmegaConf.to_yaml(OmegaConf.create(scalars), resolve=True), "yaml", background_color="default"))
    Console().print(tree)
    if save_to is not None:
        Path(save_to).parent.mkdir(parents=True, exist_ok=True)
        with open(save_to, "w") as handle:
            Console(file=handle, width=120, color_system=None).print(tree)
