"""Each language's funnel in a multilingual run: how many documents of the language each step kept.

Counted from the run's own files, so every step counts, MinHash and the steps without per-language settings
included: a kept document is in `documents/<language>/`, a removed one in `removed/<step>/` with its
`language`. The documents of a language after a step are those kept at the end plus those the later steps
removed. Steps before the language step see no language and have no row here.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from finemill import run_folder

LANGUAGE_STEP = "language"


def is_by_language(out: Path) -> bool:
    """Whether the run wrote its kept documents per language (`documents/<language>/`)."""
    folder = run_folder.documents(out)
    return folder.is_dir() and any(p.is_dir() for p in folder.iterdir())


def _languages(files: list[Path]) -> Counter:
    counts: Counter = Counter()
    for path in files:
        column = pq.read_table(path, columns=["language"]).column("language").to_pylist()
        counts.update(language or "unknown" for language in column)
    return counts


def language_funnel(out: Path, step_order: list[str]) -> dict[str, dict]:
    """{language: {"detected": documents the language step gave this language, "out": {step: documents of
    the language after it}}} for the language step and every step after it, largest language first."""
    if LANGUAGE_STEP not in step_order:
        return {}
    steps = step_order[step_order.index(LANGUAGE_STEP) :]
    documents = run_folder.documents(out)
    kept = Counter()
    for folder in sorted(p for p in documents.iterdir() if p.is_dir()):
        kept[folder.name] += sum(pq.read_metadata(f).num_rows for f in folder.glob("*.parquet"))
    removed = {step: _languages(sorted(run_folder.removed(out, step).glob("*.parquet"))) for step in steps}
    languages = set(kept).union(*removed.values())
    funnel = {}
    for language in languages:
        after, out_of = kept[language], {}
        for step in reversed(steps):
            out_of[step] = after
            after += removed[step][language]
        funnel[language] = {"detected": after, "out": {step: out_of[step] for step in steps}}
    return dict(sorted(funnel.items(), key=lambda kv: (-kv[1]["detected"], kv[0])))


def language_rows(funnel: dict[str, dict], shown: int = 20) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the per-language funnel as text: detected, then each step's documents out."""
    if not funnel:
        return [], []
    steps = list(next(iter(funnel.values()))["out"])
    header = ["language", "detected", *steps]
    rows = [
        [language, f"{entry['detected']:,}", *(f"{entry['out'][step]:,}" for step in steps)]
        for language, entry in list(funnel.items())[:shown]
    ]
    return header, rows
