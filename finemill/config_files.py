"""The recipes and training configs that ship inside the package (finemill/configs/*.yaml).

They are package data, found through importlib.resources, so an installed wheel runs `finemill run` with
no arguments; in a checkout the top-level `configs` folder links to the same files. A bare name such as
`fineweb-fast` or `train-tiny.yaml` (no folder) that is not a file in the current folder names one of them.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# finemill is installed as plain files (a wheel or an editable checkout, never a zip), so the resource
# folder is a real directory and the recipe loaders can keep working with Paths.
PACKAGED_CONFIGS = Path(str(resources.files("finemill").joinpath("configs")))


def packaged_names() -> list[str]:
    """The names of the bundled configs, e.g. ['fineweb', 'fineweb-fast', 'train-tiny', ...]."""
    return sorted(path.stem for path in PACKAGED_CONFIGS.glob("*.yaml"))


def resolve_config(name_or_path: str | Path) -> Path:
    """`name_or_path` as a path when it exists or has a folder part; otherwise the bundled config of that
    name (with or without .yaml) when there is one; otherwise the path unchanged, for the caller's
    not-found error."""
    path = Path(name_or_path)
    if path.exists() or len(path.parts) != 1:
        return path
    packaged = PACKAGED_CONFIGS / (path.name if path.suffix == ".yaml" else f"{path.name}.yaml")
    return packaged if packaged.is_file() else path
