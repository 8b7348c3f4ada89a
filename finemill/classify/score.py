"""Scores of a run's documents by a classifier, without filtering: `finemill classify score RUN --model M`
writes OUT/scores/<name>.parquet (id, quality_score, and int_score for a regression head), in the order of
OUT/documents. `finemill stats` shows their histogram and `finemill inspect --score-near X` the documents
scored nearest X. A run whose recipe had a classifier step has its scores in documents/ already
(`quality_score`); both are read here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finemill import run_folder
from finemill.errors import FinemillError


def classifier_for(model: str, label: str = "hq", threads: int | None = None, device: str = "auto") -> Any:
    """The recipe step that scores with `model`: a transformers folder (config.json) or a fastText file."""
    path = Path(model)
    if path.is_dir():
        from finemill.steps.filters.quality_hf import QualityHFFilter, head_of

        head = head_of(path)
        # a classification head: the probability of `label` when it names one of its labels, else of the last
        keep = None if head["num_labels"] == 1 else [label if label in head["labels"] else head["labels"][-1]]
        return QualityHFFilter(str(path), keep_labels=keep, device=device, threads=threads)
    from finemill.steps.filters.quality_fasttext import QualityFastTextFilter

    return QualityFastTextFilter(str(path), label=label, threshold=0.0)


def score_run(out: Path, model: str, name: str | None = None, label: str = "hq", batch: int = 256) -> Path:
    """Score every document of the run; returns the scores file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not Path(model).exists():
        raise FinemillError(f"--model: not found: {model}")
    files = parquet_files(run_folder.documents(out))
    if not files:
        raise FinemillError(f"no documents in {run_folder.documents(out)}: is {out} a finemill run folder?")
    step = classifier_for(model, label)
    ids, scores = [], []
    for path in files:
        for rows in pq.ParquetFile(path).iter_batches(columns=["id", "text"], batch_size=batch):
            texts = rows.column("text").to_pylist()
            ids += rows.column("id").to_pylist()
            scores += _scores(step, texts)
    columns = {"id": pa.array(ids, pa.string()), "quality_score": pa.array(scores, pa.float64())}
    if getattr(step, "regression", False):
        columns["int_score"] = pa.array([int(round(max(0.0, min(s, 5.0)))) for s in scores], pa.int64())
    target = run_folder.beneath(out, run_folder.scores(out, name or Path(model).stem))
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), target)
    return target


def parquet_files(folder: Path) -> list[Path]:
    """The visible parquet files of a folder, sorted (writers keep unfinished files hidden)."""
    return sorted(p for p in Path(folder).glob("*.parquet") if not p.name.startswith("."))


def _scores(step: Any, texts: list[str]) -> list[float]:
    if hasattr(step, "score_texts"):
        return step.score_texts(texts)
    return [step.score(t) if t.strip() else float("nan") for t in texts]
