"""How well held-out scores separate positives from negatives: precision and recall at a threshold, and the
ROC AUC (the probability that a random positive scores above a random negative, ties counting half)."""

from __future__ import annotations

import numpy as np


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney statistic on average ranks (ties share their ranks). NaN when one class is
    absent."""
    scores, positive = np.asarray(scores, dtype=np.float64), np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    # runs of equal scores get the mean of their 1-based ranks
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], len(scores)]
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + 1 + end) / 2
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def precision_recall(scores: np.ndarray, positive: np.ndarray, threshold: float = 0.5) -> tuple[float, float]:
    """Precision and recall of "score >= threshold means positive" (NaN where undefined)."""
    predicted = np.asarray(scores) >= threshold
    positive = np.asarray(positive, dtype=bool)
    true_positive = int((predicted & positive).sum())
    precision = true_positive / int(predicted.sum()) if predicted.any() else float("nan")
    recall = true_positive / int(positive.sum()) if positive.any() else float("nan")
    return precision, recall


def summary(scores: np.ndarray, positive: np.ndarray, threshold: float = 0.5) -> dict[str, float | int]:
    precision, recall = precision_recall(scores, positive, threshold)
    return {
        "heldout_positive": int(np.sum(positive)),
        "heldout_negative": int(len(positive) - np.sum(positive)),
        "threshold": threshold,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "roc_auc": round(roc_auc(scores, positive), 4),
    }
