"""Resuming a run: which checkpoint, whether it fits the run being started, and restoring its state.

Everything a resume needs is in the checkpoint: weights, optimizer, the data position, each rank's RNG
states and the step (the learning rate is a function of the step), so a resumed run computes what the
uninterrupted one would have.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from finemill.errors import FinemillError
from finemill.model.checkpoint import checkpoint_dir, find_checkpoint
from finemill.tokenize.tokens_folder import TokenData
from finemill.train.config import RUNTIME_KEYS, TrainConfig


def resume_checkpoint(resume: str | bool | None, out: Path) -> Path | None:
    """The checkpoint to resume from: the one named, or OUT's newest (None: start afresh)."""
    if isinstance(resume, (str, Path)):
        path = find_checkpoint(resume)
        if path is None:
            raise FinemillError(f"--resume: no checkpoint at {resume}")
        return path
    if resume is False:
        return None
    path = find_checkpoint(checkpoint_dir(out))
    if path is None and resume is True:
        raise FinemillError(f"--resume: no checkpoint in {checkpoint_dir(out)}")
    return path


def check_resumable(
    ckpt: dict[str, Any], path: Path, cfg: TrainConfig, data: TokenData, say: Callable[[str], None]
) -> None:
    """Refuse a checkpoint of other tokens or another model; note settings that changed since."""
    tok = ckpt.get("tokenizer") or {}
    if tok.get("vocab_size") != data.vocab_size:
        raise FinemillError(
            f"vocab mismatch: {path} was trained with a {tok.get('vocab_size')}-token vocab, but the tokens in "
            f"{data.dir} use {data.vocab_size}"
        )
    if tok.get("sha256") and data.tokenizer_sha256 and tok["sha256"] != data.tokenizer_sha256:
        raise FinemillError(
            f"{path} was trained with another tokenizer than the one of {data.dir} (sha256 differs)"
        )
    saved = ckpt["model_config"]
    diffs = [f"{k} {saved.get(k)} there, {v} here" for k, v in asdict(cfg.model).items() if saved.get(k) != v]
    if diffs:
        raise FinemillError(
            f"{path} is a checkpoint of another model ({'; '.join(diffs)}): use another --out or the same model"
        )
    old = {k: v for k, v in ckpt.get("train_config", {}).items() if k != "model" and k not in RUNTIME_KEYS}
    new = cfg.to_dict()
    changed = [f"{k} {v!r} -> {new.get(k)!r}" for k, v in old.items() if new.get(k) != v]
    if changed:
        say(f"note: settings changed since the checkpoint: {', '.join(changed)}")


def rng_state() -> dict[str, Any]:
    """This process's RNG states, as plain tensors and lists (loadable with weights_only)."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
