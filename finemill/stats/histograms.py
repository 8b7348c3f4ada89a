"""Histograms of language score and document length, before and after filtering, streamed.

"Before" is every document the language step saw: those removed by the language step or any later step,
plus the kept ones. (Documents removed earlier have no extracted text and no score.) "After" is
`documents/`. Bins are fixed in advance so that batches add up without keeping any value; values beyond
the first or last edge count in the first or last bin, so both histograms count every document.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow.compute as pc

from finemill.pipeline.registry import HTML_STEPS
from finemill.stats.load import Run, iter_batches

SCORE_EDGES = np.linspace(0.0, 1.0, 41)
LENGTH_EDGES = np.logspace(0, 6, 49)  # 1 character to 1M, 8 bins per decade; longer ones go in the last


@dataclass
class Histogram:
    edges: np.ndarray
    before: np.ndarray
    after: np.ndarray

    @property
    def empty(self) -> bool:
        return not self.before.any()


def score_and_length_histograms(run: Run) -> tuple[Histogram, Histogram]:
    """(language score, length in characters) histograms of the run, one batch in memory at a time."""
    scores = Histogram(
        SCORE_EDGES, np.zeros(len(SCORE_EDGES) - 1, np.int64), np.zeros(len(SCORE_EDGES) - 1, np.int64)
    )
    lengths = Histogram(
        LENGTH_EDGES, np.zeros(len(LENGTH_EDGES) - 1, np.int64), np.zeros(len(LENGTH_EDGES) - 1, np.int64)
    )
    # Pages removed before or at extraction are HTML, not text: they have no place in these histograms.
    removed = [f for name in run.step_names if name not in HTML_STEPS for f in run.removed_files(name)]
    for files, kept in ((removed, False), (run.document_files(), True)):
        for batch in iter_batches(files, ["text", "language_score"]):
            length = _values(pc.utf8_length(batch.column(0)))
            score = _values(batch.column(1))
            _add(lengths, np.clip(length, LENGTH_EDGES[0], LENGTH_EDGES[-1]), kept)
            # fastText's scores reach 1.00007 (it adds 1e-5 to each probability before its log, and lid.176
            # multiplies several): counted as 1, not dropped past the last edge
            _add(scores, np.clip(score, SCORE_EDGES[0], SCORE_EDGES[-1]), kept)
    return scores, lengths


def _values(array) -> np.ndarray:
    return array.drop_null().to_numpy(zero_copy_only=False).astype(np.float64)


def _add(histogram: Histogram, values: np.ndarray, kept: bool) -> None:
    counts, _ = np.histogram(values, bins=histogram.edges)
    histogram.before += counts
    if kept:
        histogram.after += counts
