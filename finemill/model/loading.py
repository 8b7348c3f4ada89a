"""The one way to load a trained model: a checkpoint file or a run folder -> model, tokenizer, config.

`finemill eval`, `export`, `sample` and `ablate` all load through `load_model`, so they agree on which
checkpoint a folder means, where its tokenizer is, and what a missing or mismatched one says.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from finemill.errors import FinemillError
from finemill.model.checkpoint import find_checkpoint, load_checkpoint
from finemill.model.config import ModelConfig
from finemill.model.gpt import GPT
from finemill.tokenize.encoder import Encoder


@dataclass
class LoadedModel:
    """A checkpoint's model (eval mode, on its device) with its tokenizer; `state` is the checkpoint without
    its weights and optimizer (step, tokens, tokenizer reference, train_config, metrics)."""

    model: GPT
    state: dict[str, Any]
    path: Path  # the checkpoint file read
    tokenizer_path: Path

    @property
    def config(self) -> ModelConfig:
        return self.model.config

    @property
    def run_dir(self) -> Path:
        return run_dir_of(self.path)

    @property
    def eot_id(self) -> int:
        return int(self.state["tokenizer"]["eot_id"])

    @property
    def eot_token(self) -> str:
        return self.state["tokenizer"].get("eot_token") or "<|endoftext|>"

    @cached_property
    def encoder(self) -> Encoder:
        """The Encoder of the tokenizer (built on first use: export needs only the file)."""
        encoder = Encoder.from_file(self.tokenizer_path, eot_token=self.eot_token)
        if encoder.vocab_size != self.config.vocab_size:
            raise FinemillError(
                f"{self.tokenizer_path} has {encoder.vocab_size} tokens but the model was trained with "
                f"{self.config.vocab_size}"
            )
        return encoder


def run_dir_of(checkpoint_file: Path) -> Path:
    """OUT/checkpoints/step_N.pt -> OUT, where the run's tokenizer.json and eval/ live."""
    return checkpoint_file.parent.parent


def load_model(
    checkpoint: str | Path, device: torch.device | str = "cpu", tokenizer: str | Path | None = None
) -> LoadedModel:
    """A checkpoint file, or a run folder (its newest checkpoint), loaded on `device` with its tokenizer:
    `tokenizer` if given, else the run folder's copy, else where the checkpoint says it was."""
    path = Path(checkpoint)
    if not path.exists():
        raise FinemillError(f"no such file or folder: {path}")
    found = find_checkpoint(path)
    if found is None:
        raise FinemillError(f"no checkpoint in {path} (expected checkpoints/step_*.pt from `finemill train`)")
    model, state = load_weights(found, device)
    tokenizer_path = find_tokenizer(state.get("tokenizer") or {}, run_dir_of(found), tokenizer)
    return LoadedModel(model, state, found, tokenizer_path)


def load_weights(
    checkpoint_file: str | Path, device: torch.device | str = "cpu"
) -> tuple[GPT, dict[str, Any]]:
    """The model of one checkpoint file (eval mode, on device) and the checkpoint's state without the big
    tensors (weights and optimizer)."""
    state = load_checkpoint(checkpoint_file)
    model = GPT(ModelConfig(**state["model_config"]))
    model.load_state_dict(state.pop("model"))
    state.pop("optimizer", None)
    return model.to(device).eval(), state


def find_tokenizer(ref: dict[str, Any], run_dir: Path, explicit: str | Path | None = None) -> Path:
    """The run's tokenizer.json, checked against the sha256 the checkpoint recorded: --tokenizer, else
    beside the run, else where the checkpoint says it was, else in the tokens folder it trained on."""
    if explicit:
        if not Path(explicit).is_file():
            raise FinemillError(f"--tokenizer: tokenizer file not found: {explicit}")
        return _checked(Path(explicit), ref)
    candidates = [run_dir / "tokenizer.json"]
    if ref.get("path"):
        candidates.append(Path(ref["path"]))
    if ref.get("tokens_dir"):
        candidates.append(Path(ref["tokens_dir"]) / "tokenizer.json")
    for path in candidates:
        if path.is_file():
            return _checked(path, ref)
    looked = ", ".join(dict.fromkeys(str(p) for p in candidates))
    raise FinemillError(
        f"the checkpoint's tokenizer is missing (tokenizer file not found at {looked}); pass --tokenizer"
    )


def _checked(path: Path, ref: dict[str, Any]) -> Path:
    sha = ref.get("sha256")
    if sha and hashlib.sha256(path.read_bytes()).hexdigest() != sha:
        raise FinemillError(f"{path} is not the tokenizer this model was trained with (sha256 differs)")
    return path
