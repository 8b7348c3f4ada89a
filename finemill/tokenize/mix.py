"""Mixing languages by weight: `finemill tokenize OUT --languages fr=0.5,de=0.5` on a run written per language.

Only the listed languages are tokenized, and each keeps the share of its documents that makes its share of
the text (UTF-8 bytes of the `text` column, read from the parquet footers) its weight: the language with the
least text for its weight keeps every document, the others a fraction, chosen per document by a hash of its
id (independent of the val split's), so tokenizer training, train and val shards all see the same
documents. A language's token share then follows its byte share (scripts of more bytes per token get fewer
tokens: the weights are of text, not tokens).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path

from finemill.errors import FinemillError
from finemill.tokenize.documents import Unit, language_of


def parse_languages(text: str) -> tuple[tuple[str, float], ...]:
    """`fr=0.5,de=0.5` -> (("fr", 0.5), ("de", 0.5)), the weights normalised to sum 1."""
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        language, sep, weight = item.partition("=")
        try:
            value = float(weight)
        except ValueError:
            value = -1.0
        if not sep or not language or value <= 0:
            raise FinemillError(f"--languages: {item!r} is not LANGUAGE=WEIGHT with a weight above 0")
        pairs.append((language.strip(), value))
    if not pairs:
        raise FinemillError("--languages: give LANGUAGE=WEIGHT pairs, e.g. fr=0.5,de=0.5")
    total = sum(w for _, w in pairs)
    return tuple((language, w / total) for language, w in pairs)


def _text_bytes(unit: Unit) -> int:
    import pyarrow.parquet as pq

    meta = pq.read_metadata(unit.path)
    names = meta.schema.to_arrow_schema().names
    return meta.row_group(unit.row_group).column(names.index("text")).total_uncompressed_size


def mix_units(units: list[Unit], documents_dir: Path, weights: tuple[tuple[str, float], ...]) -> list[Unit]:
    """The units of the listed languages (a unit's language is its folder, documents/<language>/), each
    with the fraction of its documents to keep."""
    language = {u.path: language_of(u.path, documents_dir) for u in units}
    if not any(language.values()):
        raise FinemillError("--languages needs a run written per language (documents/<language>/)")
    wanted = dict(weights)
    missing = sorted(set(wanted) - set(language.values()))
    if missing:
        raise FinemillError(f"--languages: no documents of {', '.join(missing)} in {documents_dir}")
    chosen = [u for u in units if language[u.path] in wanted]
    size: dict[str, int] = defaultdict(int)
    for unit in chosen:
        size[language[unit.path]] += _text_bytes(unit)
    total = min(size[lang] / weight for lang, weight in weights)  # the scarcest language keeps everything
    keep = {lang: min(1.0, weight * total / size[lang]) for lang, weight in weights}
    return [dataclasses.replace(u, keep=keep[language[u.path]]) for u in chosen]
