"""Quality classifier scores of a run's documents, for `finemill stats` (histogram, thresholds for a kept
fraction) and `finemill inspect --score-near X` (the documents scored nearest X). They come from
OUT/scores/<name>.parquet (`finemill classify score`) or, for a run whose recipe had a classifier step, the
documents' own `quality_score` column."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from finemill import run_folder, storage
from finemill.errors import FinemillError
from finemill.stats.load import parquet_files


def load_scores(out: Path, name: str | None = None) -> tuple[str, list[str], np.ndarray] | None:
    """(where they come from, ids, scores): OUT/scores/<name>.parquet (the newest when no name), else the
    documents' own quality_score column; None when the run has neither."""

    folder = run_folder.scores(out)
    files = sorted(folder.glob("*.parquet"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if name:
        files = [p for p in files if p.stem == name]
        if not files:
            raise FinemillError(f"no scores named {name!r} in {folder} (run `finemill classify score` first)")
    if files:
        table = storage.parquet_file(files[-1]).read(columns=["id", "quality_score"])
        return str(files[-1]), table.column("id").to_pylist(), table.column("quality_score").to_numpy()
    ids, scores = [], []
    for path in parquet_files(run_folder.documents(out)):
        parquet = storage.parquet_file(path)  # a local file, or one on object storage
        if "quality_score" not in parquet.schema_arrow.names:
            return None
        table = parquet.read(columns=["id", "quality_score"])
        ids += table.column("id").to_pylist()
        scores += table.column("quality_score").to_pylist()
    if not ids:
        return None
    return "documents/ (quality_score)", ids, np.array(scores, dtype=np.float64)


def histogram(scores: np.ndarray, bins: int = 10) -> list[tuple[float, float, int]]:
    """(low, high, count) per bin over the scores' range ([0, 1] for probabilities)."""
    finite = scores[np.isfinite(scores)]
    if not len(finite):
        return []
    low, high = (0.0, 1.0) if finite.min() >= 0 and finite.max() <= 1 else (finite.min(), finite.max())
    counts, edges = np.histogram(finite, bins=bins, range=(low, high))
    return [(float(edges[i]), float(edges[i + 1]), int(c)) for i, c in enumerate(counts)]


def threshold_for_fraction(scores: np.ndarray, fraction: float) -> float:
    """The score that keeps the top `fraction` (the same rank rule as quality_fasttext's top_fraction)."""
    ordered = np.sort(scores[np.isfinite(scores)])[::-1]
    return float(ordered[max(1, math.ceil(fraction * len(ordered))) - 1]) if len(ordered) else float("nan")


def nearest(ids: list[str], scores: np.ndarray, value: float, n: int) -> list[tuple[str, float]]:
    """The n documents scored nearest `value`, half below it and half at or above, in score order."""
    order = np.argsort(scores, kind="mergesort")
    position = int(np.searchsorted(scores[order], value))
    below = order[max(0, position - n // 2) : position]
    above = order[position : position + n - len(below)]
    below = order[max(0, position - (n - len(above))) : position]
    return [(ids[i], float(scores[i])) for i in [*below, *above]]


def score_lines(out: Path) -> list[str]:
    """The score section of `finemill stats`: where the scores are, their histogram and the thresholds that
    keep 10%, 25% and 50% (nothing when the run has no scores)."""
    found = load_scores(out)
    if found is None:
        return []
    source, _, scores = found
    lines = [f"quality scores: {source} ({len(scores):,} documents)"]
    for low, high, count in histogram(scores):
        bar = "#" * round(40 * count / max(1, len(scores)))
        lines.append(f"  {low:8.3f} - {high:8.3f}  {count:7,}  {bar}")
    keep = ", ".join(f"top {f:.0%}: >= {threshold_for_fraction(scores, f):.4f}" for f in (0.1, 0.25, 0.5))
    lines.append(f"  thresholds that keep the {keep}")
    lines.append(f"  examples around a threshold: finemill inspect {out} --score-near 0.5")
    return lines


def documents_by_id(out: Path, ids: set[str]) -> dict[str, dict]:
    """The url and text of the documents with these ids (one pass over documents/, two columns and text)."""

    found: dict[str, dict] = {}
    for path in parquet_files(run_folder.documents(out)):
        for batch in storage.parquet_file(path).iter_batches(columns=["id", "url", "text"], batch_size=1024):
            for row in batch.to_pylist():
                if row["id"] in ids:
                    found[row["id"]] = row
    return found


def scores_html(out: Path, examples: int = 3) -> list[str]:
    """The HTML report's section: the histogram as a table with bars, the thresholds for 10/25/50%, and the
    documents scored nearest the top-25% threshold, on both sides (nothing when the run has no scores)."""
    import html

    found = load_scores(out)
    if found is None:
        return []
    source, ids, scores = found
    rows = "".join(
        f"<tr><td>{low:.3f} - {high:.3f}</td><td>{count:,}</td>"
        f'<td><div style="background:#4c78a8;height:0.8em;width:{300 * count / max(1, len(scores)):.0f}px">'
        "</div></td></tr>"
        for low, high, count in histogram(scores)
    )
    cut = threshold_for_fraction(scores, 0.25)
    keep = ", ".join(f"top {f:.0%}: &ge; {threshold_for_fraction(scores, f):.4f}" for f in (0.1, 0.25, 0.5))
    picked = nearest(ids, scores, cut, 2 * examples)
    documents = documents_by_id(out, {i for i, _ in picked})
    items = "".join(
        f"<li><b>{score:.4f}</b> {'below' if score < cut else 'at/above'} "
        f"{html.escape(documents.get(i, {}).get('url') or i)}<br><small>"
        f"{html.escape((documents.get(i, {}).get('text') or '')[:300])}</small></li>"
        for i, score in picked
    )
    return [
        '<h2 id="scores">Quality classifier scores</h2>',
        f'<p class="note">{html.escape(source)}, {len(scores):,} documents. Thresholds that keep the {keep}.</p>',
        f"<table><tr><th>score</th><th>documents</th><th></th></tr>{rows}</table>",
        f"<p>Documents scored nearest the top-25% threshold ({cut:.4f}):</p><ul>{items}</ul>",
    ]
