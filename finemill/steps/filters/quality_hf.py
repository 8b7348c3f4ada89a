"""A transformers sequence classifier as a recipe step: FineWeb-Edu's filter, or any classification head.

The model is a local `AutoModelForSequenceClassification` folder (config.json, weights, tokenizer):

- one output (FineWeb-Edu's regression head): `quality_score` is the logit, `int_score` is
  round(clip(score, 0, 5)) as FineWeb-Edu computes it, and a document is kept when int_score >= `int_score`;
- several outputs (a classification head): `quality_score` is the softmax probability of `keep_labels`
  (summed), and a document is kept when it is >= `min_probability`.

Documents are scored in batches: each datatrove batch of `batch_docs` documents is tokenized, truncated to the
model's window (`max_tokens`, default the tokenizer's model_max_length capped by the position embeddings), and
cut by length into forward passes of at most `batch_tokens` padded tokens. The model loads on first use in
the worker process (so the step pickles to Ray and Slurm workers without weights), on `device` ("cpu",
"cuda", or "auto": CUDA when available) with `threads` torch threads on CPU. Truncated documents are counted
(`truncated`) and the window is logged by each task and recorded in stats.json (`classifiers`).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.utils.logging import logger

from finemill.errors import FinemillError
from finemill.steps.filters.checks import Check, MeasuredFilter

REASON = "low_quality_score"


def head_of(model: str | Path) -> dict[str, Any]:
    """What config.json says of the head: its number of outputs, label names, and position embeddings; a
    one-line error when the folder is not a sequence classifier's."""
    config_file = Path(model) / "config.json"
    if not config_file.is_file():
        raise FinemillError(f"quality_hf.model: no transformers model folder (config.json) at {model}")
    config = json.loads(config_file.read_text(encoding="utf-8"))
    id2label = config.get("id2label") or {}
    num_labels = int(config.get("num_labels") or len(id2label) or 2)
    labels = [id2label.get(str(i), id2label.get(i, f"LABEL_{i}")) for i in range(num_labels)]
    return {
        "num_labels": num_labels,
        "labels": labels,
        "positions": config.get("max_position_embeddings"),
        "model_type": config.get("model_type"),
    }


def stated_window(model: str | Path, max_tokens: int | None = None) -> int | None:
    """The window `load_classifier` will use, from the folder's JSON files alone (for stats.json)."""
    head = head_of(model)
    positions = head["positions"]
    try:
        tokenizer_config = json.loads((Path(model) / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tokenizer_config = {}
    if positions and head.get("model_type") in ("roberta", "xlm-roberta", "camembert"):
        positions -= 2
    limits = [x for x in (positions, tokenizer_config.get("model_max_length"), max_tokens) if x and x < 1e6]
    return int(min(limits)) if limits else None


class QualityHFFilter(MeasuredFilter, BaseFilter):
    """Keeps documents by a transformers classifier's score (see the module's docstring)."""

    name = "🤗 HF quality"

    def __init__(
        self,
        model: str,
        int_score: int = 3,
        keep_labels: list[str] | None = None,
        min_probability: float = 0.5,
        max_tokens: int | None = None,
        batch_tokens: int = 16384,
        batch_docs: int = 256,
        device: str = "auto",
        threads: int | None = None,
        exclusion_writer=None,
    ) -> None:
        super().__init__(exclusion_writer, batch_size=batch_docs)
        head = head_of(model)
        self.regression = head["num_labels"] == 1
        if self.regression and keep_labels:
            raise FinemillError(
                f"quality_hf.keep_labels: {model} has a regression head (one output); use `int_score`"
            )
        if not self.regression:
            unknown = sorted(set(keep_labels or []) - set(head["labels"]))
            if not keep_labels or unknown:
                raise FinemillError(
                    f"quality_hf.keep_labels: {model} has a {head['num_labels']}-label head "
                    f"({head['labels']}); name the labels to keep among them"
                    + (f" (unknown: {unknown})" if unknown else "")
                )
        if importlib.util.find_spec("transformers") is None:
            raise FinemillError("quality_hf needs transformers: pip install -c constraints.txt -e '.[hf]'")
        if device not in ("auto", "cpu", "cuda"):
            raise FinemillError(f"quality_hf.device must be auto, cpu or cuda, got {device!r}")
        self.model_path, self.head = str(model), head
        self.int_threshold, self.min_probability = int_score, min_probability
        self.keep_indices = [head["labels"].index(x) for x in keep_labels or []]
        self.max_tokens, self.batch_tokens, self.device, self.threads = (
            max_tokens,
            batch_tokens,
            device,
            threads,
        )
        self._loaded: tuple | None = None
        self._batch_scores: dict[int, float] = {}

    def __getstate__(self) -> dict:  # workers load their own copy of the model
        return {**self.__dict__, "_loaded": None, "_batch_scores": {}}

    def loaded(self) -> tuple:
        """(tokenizer, model, device, window), loaded once per process."""
        if self._loaded is None:
            self._loaded = load_classifier(self.model_path, self.device, self.threads, self.max_tokens)
            logger.info(
                f"quality_hf: {self.model_path} on {self._loaded[2]}, window {self._loaded[3]} tokens"
            )
        return self._loaded

    @property
    def window(self) -> int:
        return self.loaded()[3]

    def score_texts(self, texts: list[str]) -> list[float]:
        """The score of each text: the regression logit, or the kept labels' probability."""
        from finemill.steps.filters.quality_hf_batches import score_batched

        tokenizer, model, device, window = self.loaded()
        scores, truncated = score_batched(
            tokenizer, model, device, texts, window, self.batch_tokens, self.regression, self.keep_indices
        )
        if truncated:
            self.stat_update("truncated", value=truncated)
        return scores

    def checks(self, doc: Document) -> Iterator[Check]:
        score = self._batch_scores.pop(id(doc), None)
        if score is None:
            score = self.score_texts([doc.text])[0]
        doc.metadata["quality_score"] = score
        if self.regression:
            doc.metadata["int_score"] = int_score = int(round(max(0.0, min(score, 5.0))))
            yield Check(REASON, "int_score (round(clip(score, 0, 5)))", int_score, self.int_threshold, "<")
        else:
            yield Check(REASON, "P(kept labels)", score, self.min_probability, "<")

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        self._batch_scores = dict(zip(map(id, batch), self.score_texts([d.text for d in batch]), strict=True))
        return [self.filter(doc) for doc in batch]


def load_classifier(path: str, device: str, threads: int | None, max_tokens: int | None) -> tuple:
    """The tokenizer, the model in eval mode on its device, the device, and the window in tokens."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise FinemillError("quality_hf.device: cuda asked for, but torch sees no CUDA device")
    if device == "cpu" and threads:
        torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).to(device).eval()
    positions = getattr(model.config, "max_position_embeddings", None) or 512
    if getattr(model.config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
        positions -= 2  # RoBERTa's positions start after the padding index
    limit = tokenizer.model_max_length if tokenizer.model_max_length < 1_000_000 else positions
    window = min(limit, positions) if max_tokens is None else min(max_tokens, positions)
    return tokenizer, model, device, window
