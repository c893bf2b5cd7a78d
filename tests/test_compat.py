"""Private names of Lightning, Hydra, their plugins and torch are used in genlab.compat only, and exist there."""
import ast
import importlib
import inspect
import re
from importlib import metadata
from pathlib import Path

import genlab.compat
from genlab.compat import missing_private_names, untested_versions

SRC = Path(genlab.compat.__file__).parents[1]
COMPAT = Path(genlab.compat.__file__).parent
STACK = ("lightning", "pytorch_lightning", "hydra", "hydra_plugins", "omegaconf", "torch", "optuna", "torchmetrics")


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def modules_outside_compat() -> list[Path]:
    return [path for path in sorted(SRC.rglob("*.py")) if COMPAT not in path.parents]


def private_uses(path: Path, root: Path = SRC) -> list[str]:
    """'file:line what' for each private module or name imported from the stack, and each private attribute read or
    written on anything but self, cls or super()."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in STACK:
            names = [*node.module.split("."), *(alias.name for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [part for alias in node.names if alias.name.split(".")[0] in STACK for part in alias.name.split(".")]
        elif isinstance(node, ast.Attribute) and private(node.attr):
            owner = node.value
            ours = isinstance(owner, ast.Name) and owner.id in ("self", "cls") or \
                isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super"
            names = [] if ours else [node.attr]
        else:
            continue
        if any(private(name) for name in names):
            found.append(f"{path.relative_to(root)}:{node.lineno} {ast.unparse(node)}")
    return found


def inherited_private_uses(path: Path) -> list[str]:
    """'file Class: names' for each class of the file whose own code touches (calls, overrides, reads or writes on
    self) a private name that a base class from the stack defines or uses."""
    module = importlib.import_module(".".join(path.relative_to(SRC.parent).with_suffix("").parts))
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        cls = getattr(module, node.name, None) if isinstance(node, ast.ClassDef) else None
        stack_bases = [base for base in getattr(cls, "__mro__", ())[1:] if base.__module__.split(".")[0] in STACK]
        if not stack_bases:
            continue
        theirs = {name for base in stack_bases for name in re.findall(r"\b(_[a-z]\w*)", inspect.getsource(base))}
        ours = {child.attr for child in ast.walk(node) if isinstance(child, ast.Attribute) and private(child.attr)}
        ours |= {child.name for child in ast.walk(node) if isinstance(child, ast.FunctionDef) and private(child.name)}
        if ours & theirs:
            found.append(f"{path.relative_to(SRC)} {node.name}: {sorted(ours & theirs)}")
    return found


def test_no_module_outside_compat_uses_a_private_name_of_the_stack():
    uses = [use for path in modules_outside_compat() for use in private_uses(path)]
    assert not uses, "private names used outside genlab.compat (add a hook there):\n" + "\n".join(uses)


def test_no_class_outside_compat_touches_a_private_name_of_its_lightning_or_hydra_base():
    uses = [use for path in modules_outside_compat() for use in inherited_private_uses(path)]
    assert not uses, "classes reaching into their base's private names (use a genlab.compat hook):\n" + "\n".join(uses)


def test_the_scan_finds_private_uses(tmp_path):
    """The source scan catches each kind of use it is meant to (a check that can fail)."""
    sample = tmp_path / "uses.py"
    sample.write_text("import hydra._internal.utils\nfrom lightning.fabric.utilities.logger import _convert_params\n"
                      "def f(trainer, self):\n    return trainer._logger_connector, self._own\n")
    uses = private_uses(sample, root=tmp_path)
    assert [use.split(" ", 1)[0] for use in uses] == ["uses.py:1", "uses.py:2", "uses.py:4"]


def test_installed_lightning_and_hydra_are_versions_the_compat_hooks_were_tested_with():
    untested = untested_versions()
    assert not untested, (f"untested versions: {'; '.join(untested)}. Check each hook of genlab/compat against them "
                          "(this test file and the suite), then add the versions to genlab.compat.TESTED_VERSIONS")


def test_an_untested_version_is_named_with_the_tested_one(monkeypatch):
    monkeypatch.setattr(metadata, "version", lambda package: "9.0.0" if package == "lightning" else "1.3.1")
    assert untested_versions() == ["lightning 9.0.0 (hooks tested with 2.6.*)"]


def test_every_private_name_the_compat_hooks_use_exists_in_the_installed_packages():
    missing = missing_private_names()
    assert not missing, f"gone from the installed packages: {', '.join(missing)}: update their hooks in genlab/compat"
