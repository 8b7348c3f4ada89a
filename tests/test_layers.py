"""finemill's parts import only downward: the order of docs/layout.md, checked on every import statement
(module level and inside functions), so no cycle and no upward import can come back unnoticed."""

from __future__ import annotations

import ast
from pathlib import Path

import finemill

PACKAGE = Path(finemill.__file__).parent

# Bottom first; a part may import itself and any part listed before it (docs/layout.md, same order).
LAYERS = [
    "errors",
    "common",
    "patches",
    "config_files",
    "config_check",
    "storage",
    "run_folder",
    "demo",
    "commoncrawl",
    "text",
    "steps",
    "tokenize",
    "model",
    "pipeline",
    "stats",
    "eval",
    "classify",
    "export",
    "train",
    "ablate",
    "cli",
]


def finemill_imports(path: Path) -> list[str]:
    """Every finemill module named by an import in `path` (`from finemill import x` names finemill.x)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "finemill":
            names.append(node.module)
            if node.module == "finemill":
                names += [f"finemill.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names if a.name.split(".")[0] == "finemill"]
    return names


def part_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_part_of_the_package_has_a_layer():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    unplaced = sorted((modules | packages) - set(LAYERS))
    assert unplaced == [], f"new parts of finemill/ without a place in LAYERS and docs/layout.md: {unplaced}"


def upward_imports(path: Path, own: str) -> list[str]:
    """The finemill modules `path`, a file of part `own`, imports from a part above its own."""
    return [
        module
        for module in finemill_imports(path)
        if part_of(module) in LAYERS and LAYERS.index(part_of(module)) > LAYERS.index(own)
    ]


def test_no_import_runs_up_the_layers():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if own != "__init__":
            upward += [f"{path.relative_to(PACKAGE.parent)} imports {m}" for m in upward_imports(path, own)]
    assert upward == [], "imports that run up the layers:\n" + "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path):
    # the checker itself, on a file of eval's: the lazy import of the training loop and the package-level
    # import of ablate are found, the downward import of the model is not
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from finemill.model.loading import load_model\n"
        "def f():\n    from finemill.train.loop import train\n    from finemill import ablate\n"
    )
    assert upward_imports(probe, "eval") == ["finemill.train.loop", "finemill.ablate"]
    assert upward_imports(probe, "cli") == []
