"""A fastText quality classifier as a recipe step (DCLM's filter): keep documents whose probability of one
label is high enough, by a fixed threshold or by keeping the top fraction.

The decision is datatrove's FastTextClassifierFilter's with `keep_labels=[(label, threshold)]` on whole
documents: kept when the label's probability >= the threshold, and a document with no text left is removed;
tested equal on real documents. The text the model sees is the document's text stripped with its newlines
replaced (datatrove's preparation) or, for a model whose card says it was trained on DCLM-normalised text,
that normalisation (`finemill.text.classifier_text`).

`top_fraction` calibrates the threshold per task (one input file): the task's first `calibration_docs`
documents are scored, the threshold is the score of the document at rank ceil(top_fraction * n) of them
(highest first), and that threshold then decides those documents and every later one of the task. Each task
logs its threshold and the step's counters record the thresholds' sum and count (`finemill stats` shows
their mean). For one threshold over the whole run, score a run first (`finemill classify score`, which
prints the threshold that keeps a given fraction) and give it as `threshold`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.utils.logging import logger

from finemill.errors import FinemillError
from finemill.steps.filters.checks import Check, MeasuredFilter
from finemill.steps.filters.language import load_fasttext
from finemill.steps.filters.model_card import read_card
from finemill.text.classifier_text import NORMALISATIONS, one_line

REASON = "low_quality_score"


class QualityFastTextFilter(MeasuredFilter, BaseFilter):
    """Keeps documents whose probability of `__label__<label>` is >= `threshold`, or in the task's
    `top_fraction` (give one of the two). Writes `quality_score` into each document's metadata."""

    name = "🤖 fastText quality"

    def __init__(
        self,
        model: str,
        label: str = "hq",
        threshold: float | None = None,
        top_fraction: float | None = None,
        calibration_docs: int = 1000,
        normalisation: str | None = None,
        newline_replacement: str = " ",
        exclusion_writer=None,
    ) -> None:
        if (threshold is None) == (top_fraction is None):
            raise FinemillError("quality_fasttext: give one of `threshold` or `top_fraction`")
        if top_fraction is not None and not 0 < top_fraction <= 1:
            raise FinemillError(f"quality_fasttext.top_fraction must be in (0, 1], got {top_fraction}")
        if calibration_docs < 1:
            raise FinemillError(f"quality_fasttext.calibration_docs must be >= 1, got {calibration_docs}")
        if not Path(model).is_file():
            raise FinemillError(f"quality_fasttext.model: no fastText model file at {model}")
        card = read_card(model) or {}
        normalisation = normalisation or card.get("normalisation", "none")
        if normalisation not in NORMALISATIONS:
            raise FinemillError(f"quality_fasttext.normalisation must be one of {NORMALISATIONS}")
        # top_fraction: the first batch of each task is its calibration sample
        super().__init__(exclusion_writer, batch_size=calibration_docs if top_fraction else 1)
        self.model_path, self.label, self.threshold = str(model), f"__label__{label}", threshold
        self.top_fraction, self.normalisation = top_fraction, normalisation
        self.newline_replacement = newline_replacement
        self._sample_scores: dict[int, float] = {}  # the calibration sample's scores, by id(document)
        self._model = None

    @property
    def model(self):
        """Loaded on first use, in the worker (one load per process), its labels checked once."""
        if self._model is None:
            model = load_fasttext(self.model_path)
            if self.label not in model.labels:
                raise FinemillError(
                    f"quality_fasttext.label: {self.label.removeprefix('__label__')!r} is not a label of "
                    f"{self.model_path} (its labels: {[x.removeprefix('__label__') for x in model.labels]})"
                )
            self._model = model
        return self._model

    def __getstate__(self) -> dict:  # workers load their own copy
        return {**self.__dict__, "_model": None}

    def score(self, text: str) -> float:
        """The model's probability of the label for this text (datatrove's k=-1 prediction, its value)."""
        line = one_line(text, self.normalisation, self.newline_replacement)
        for probability, label in self.model.f.predict(line + "\n", -1, 0.0, "strict"):
            if label == self.label:
                return probability
        return -9e9  # datatrove's score for a label fastText did not return

    def checks(self, doc: Document) -> Iterator[Check]:
        if not doc.text.strip():
            yield Check("empty", "text left", 0, 0, "<=")
            return
        score = self._sample_scores.pop(id(doc), None) if self._sample_scores else None
        if score is None:
            score = self.score(doc.text)
        doc.metadata["quality_score"] = score
        threshold = self.current_threshold(doc)
        if threshold is not None:
            yield Check(REASON, f"P({self.label.removeprefix('__label__')})", score, threshold, "<")

    def current_threshold(self, doc: Document) -> float | None:
        """The fixed threshold, else this task's calibrated one, else (inspect, on a removed document) the one
        recorded with the document."""
        if self.threshold is not None:
            return self.threshold
        calibrated = getattr(self, "task_threshold", None)
        return calibrated if calibrated is not None else doc.metadata.get("quality_threshold")

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        result = MeasuredFilter.filter(self, doc)
        if result is not True and self.threshold is None:
            doc.metadata["quality_threshold"] = self.task_threshold  # what inspect compares with
        return result

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        if self.threshold is None and getattr(self, "task_threshold", None) is None:
            self.calibrate(batch)
        return [self.filter(doc) for doc in batch]

    def calibrate(self, sample: list[Document]) -> None:
        """This task's threshold: the score at rank ceil(top_fraction * n) among its first documents (their
        scores are kept in their metadata, so no document is scored twice)."""
        self._sample_scores = {id(doc): self.score(doc.text) for doc in sample if doc.text.strip()}
        scores = sorted(self._sample_scores.values(), reverse=True)
        rank = max(1, math.ceil(self.top_fraction * len(scores)))
        self.task_threshold = scores[rank - 1] if scores else 0.0
        self.stat_update("calibrated_tasks")
        self.stat_update("calibrated_threshold_sum", value=self.task_threshold)
        logger.info(
            f"quality_fasttext: threshold {self.task_threshold:.6f} keeps the top {self.top_fraction:.1%} "
            f"of this task's first {len(sample)} documents"
        )
