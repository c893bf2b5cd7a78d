"""genlab's modules import each other without cycles (function-local imports counted), and only the command layer
(genlab.cli, builders, the commands) imports the command layer."""
import ast
from pathlib import Path

import genlab

SRC = Path(genlab.__file__).parents[1]
COMMAND_LAYER = ("genlab.cli", "genlab.builders", "genlab.train", "genlab.eval", "genlab.sample", "genlab.export",
                 "genlab.compare")


def module_files(root: Path = SRC) -> dict[str, Path]:
    return {".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): path
            for path in root.rglob("*.py")}


def import_graph(root: Path = SRC) -> dict[str, set[str]]:
    """module → the genlab modules it imports anywhere in its file (`from a.b import c` counts a.b.c if a module)."""
    modules = module_files(root)

    def module_of(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported |= {module_of(f"{node.module}.{alias.name}") for alias in node.names}
            elif isinstance(node, ast.Import):
                imported |= {module_of(alias.name) for alias in node.names}
        graph[name] = {other for other in imported if other and other != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_genlab_has_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_a_cycle_through_a_function_local_import(tmp_path):
    (tmp_path / "genlab").mkdir()
    (tmp_path / "genlab" / "a.py").write_text("from genlab.b import f\n")
    (tmp_path / "genlab" / "b.py").write_text("def f():\n    from genlab.a import g\n")
    (tmp_path / "genlab" / "c.py").write_text("import genlab.a\n")
    assert cycles(import_graph(tmp_path)) == [["genlab.a", "genlab.b"]]


def test_only_the_command_layer_imports_the_command_layer():
    lower = {name: imported for name, imported in import_graph().items() if not name.startswith(COMMAND_LAYER)}
    upward = sorted(f"{name} -> {other}" for name, imported in lower.items() for other in imported
                    if other.startswith(COMMAND_LAYER))
    assert upward == []
