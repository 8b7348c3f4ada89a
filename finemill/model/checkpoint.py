"""Checkpoints: one file per saved step, written atomically, enough to resume a run exactly.

A checkpoint holds the model and optimizer states, the step (the learning-rate schedule is a pure function
of step and config), the data loader's position, every rank's RNG states, the config and a reference to
the tokenizer (path and sha256): finemill.train writes them, finemill.model.loading reads a model back.
Files are `OUT/checkpoints/step_00001000.pt`; the newest is the one to resume from or sample with. A file
is written to a temporary name, synced, then renamed over, so a crash mid-write never leaves a truncated
checkpoint under a real name.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch

from finemill.errors import FinemillError

CHECKPOINT_FORMAT = "finemill-checkpoint-v1"
_STEP_FILE = re.compile(r"^step_(\d+)\.pt$")


def checkpoint_dir(out: str | Path) -> Path:
    return Path(out) / "checkpoints"


def list_checkpoints(folder: str | Path) -> list[tuple[int, Path]]:
    """(step, path) of the step checkpoints in a folder, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _STEP_FILE.match(p.name))]
    return sorted(found)


def find_checkpoint(path: str | Path) -> Path | None:
    """A checkpoint file from a file, a run folder or its checkpoints folder (the newest one); None if none."""
    path = Path(path)
    if path.is_file():
        return path
    for folder in (checkpoint_dir(path), path):
        found = list_checkpoints(folder)
        if found:
            return found[-1][1]
    return None


def save_checkpoint(state: dict[str, Any], out: str | Path, step: int, keep: int) -> Path:
    """Write `state` as OUT/checkpoints/step_N.pt atomically, then delete all but the `keep` newest."""
    folder = checkpoint_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step_{step:08d}.pt"
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save({"format": CHECKPOINT_FORMAT, "step": step, **state}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(folder)
    for _, old in list_checkpoints(folder)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    try:
        # weights_only: a checkpoint is plain tensors and containers, so loading one runs no pickled code.
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise FinemillError(f"checkpoint not found: {path}") from None
    except Exception as e:  # torch raises many types for a corrupt or foreign file
        raise FinemillError(
            f"{path}: not a readable finemill checkpoint ({str(e).splitlines()[0]})"
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise FinemillError(f"{path}: not a finemill checkpoint (format {state.get('format')!r})")
    return state


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible on every platform (Windows); the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
