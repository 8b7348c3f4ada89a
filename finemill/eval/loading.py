"""A checkpoint and its tokenizer, ready to evaluate, with one-line errors for what is missing."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from finemill.errors import FinemillError
from finemill.tokenize.encoder import Encoder


def find_tokenizer(ref: dict[str, Any], run_dir: Path, explicit: str | Path | None = None) -> Path:
    """The run's tokenizer.json: --tokenizer, else beside the run, else where the checkpoint says it was."""
    candidates = [Path(explicit)] if explicit else []
    candidates += [run_dir / "tokenizer.json"]
    if ref.get("path"):
        candidates.append(Path(ref["path"]))
    if ref.get("tokens_dir"):
        candidates.append(Path(ref["tokens_dir"]) / "tokenizer.json")
    for path in candidates:
        if path.is_file():
            sha = ref.get("sha256")
            if sha and hashlib.sha256(path.read_bytes()).hexdigest() != sha:
                raise FinemillError(
                    f"{path} is not the tokenizer this model was trained with (sha256 differs)"
                )
            return path
        if explicit and path == Path(explicit):
            raise FinemillError(f"--tokenizer: no such file {path}")
    looked = ", ".join(dict.fromkeys(str(p) for p in candidates))
    raise FinemillError(f"the checkpoint's tokenizer is missing (looked at {looked}); pass --tokenizer")


def load_for_eval(
    checkpoint: str | Path, device: torch.device | str = "cpu", tokenizer: str | Path | None = None
) -> tuple[torch.nn.Module, Encoder, dict[str, Any], Path]:
    """(model in eval mode on device, its Encoder, the checkpoint's metadata, the checkpoint file)."""
    from finemill.train.checkpoint import find_checkpoint
    from finemill.train.sample import load_model

    path = Path(checkpoint)
    if not path.exists():
        raise FinemillError(f"no such file or folder: {path}")
    found = find_checkpoint(path)
    if found is None:
        raise FinemillError(f"no checkpoint in {path} (expected checkpoints/step_*.pt from `finemill train`)")
    model, state, found = load_model(found, device)
    ref = state.get("tokenizer") or {}
    tok_path = find_tokenizer(ref, found.parent.parent, tokenizer)
    encoder = Encoder.from_file(tok_path, eot_token=ref.get("eot_token", "<|endoftext|>"))
    if encoder.vocab_size != model.config.vocab_size:
        raise FinemillError(
            f"{tok_path} has {encoder.vocab_size} tokens but the model was trained with {model.config.vocab_size}"
        )
    return model, encoder, state, found
