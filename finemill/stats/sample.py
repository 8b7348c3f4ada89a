"""Uniform random examples of removed (or kept) documents, without reading every document's text.

Pass 1 streams only the `reason` column and keeps, per reason, the n rows with the smallest random
keys (bottom-k sampling: a uniform sample without replacement, the vectorised form of a reservoir).
Pass 2 reads the full columns of just the row groups that hold the chosen rows.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from finemill import storage
from finemill.pipeline.registry import HTML_STEPS
from finemill.stats.load import BATCH_ROWS

KEPT = "kept"  # the group name of documents/ rows, which have no reason
FETCH_ROWS = 256  # rows per batch when reading the chosen examples' full columns
GROUP_SEPARATOR = " · "  # between reason and language in the groups of `by_language`


@dataclass
class Example:
    reason: str
    text: str
    url: str | None
    id: str | None
    language: str | None
    language_score: float | None
    metadata: dict = field(default_factory=dict)


@dataclass
class _Reservoir:
    keys: np.ndarray = field(default_factory=lambda: np.empty(0))
    files: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def offer(self, keys: np.ndarray, file: int, rows: np.ndarray, n: int) -> None:
        keys = np.concatenate([self.keys, keys])
        files = np.concatenate([self.files, np.full(len(rows), file, dtype=np.int64)])
        rows = np.concatenate([self.rows, rows])
        if len(keys) > n:
            best = np.argpartition(keys, n - 1)[:n]
            keys, files, rows = keys[best], files[best], rows[best]
        self.keys, self.files, self.rows = keys, files, rows


def sample_by_reason(
    files: list[Path],
    n: int,
    seed: int = 0,
    reason: str | None = None,
    language: str | None = None,
    by_language: bool = False,
) -> dict[str, list[Example]]:
    """Up to `n` random rows per reason of removed/<step>/ files, or of documents/ files (group `kept`).

    `reason` / `language` keep only rows with that reason / detected language; `by_language` groups by
    "reason · language" instead of reason. The same seed gives the same examples."""
    if n <= 0 or not files:
        return {}
    rng = np.random.default_rng(seed)
    reservoirs: dict[str, _Reservoir] = defaultdict(_Reservoir)
    for file_index, path in enumerate(files):
        parquet = storage.parquet_file(path)
        names = parquet.schema_arrow.names
        offset = 0
        for batch in parquet.iter_batches(
            batch_size=BATCH_ROWS, columns=[c for c in ("reason", "language") if c in names]
        ):
            group, keep = _groups(batch, by_language, reason, language)
            encoded = pc.dictionary_encode(group)
            codes = encoded.indices.to_numpy(zero_copy_only=False)
            keys = rng.random(len(codes))
            for code, value in enumerate(encoded.dictionary.to_pylist()):
                selected = np.flatnonzero((codes == code) & keep)
                if len(selected):
                    reservoirs[value].offer(keys[selected], file_index, selected + offset, n)
            offset += len(codes)
    return {group: _read_rows(files, res, group) for group, res in sorted(reservoirs.items())}


def _groups(batch, by_language: bool, reason: str | None, language: str | None) -> tuple:
    """The group of each row (its reason, `kept` in documents/, or "reason · language") and which rows count."""
    names = batch.schema.names
    rows = batch.num_rows
    reasons = (
        batch.column("reason").fill_null("unspecified") if "reason" in names else pa.array([KEPT] * rows)
    )
    languages = (
        batch.column("language").fill_null("unknown") if "language" in names else pa.array(["unknown"] * rows)
    )
    keep = np.ones(rows, dtype=bool)
    if reason is not None:
        keep &= pc.equal(reasons, reason).to_numpy(zero_copy_only=False)
    if language is not None:
        keep &= pc.equal(languages, language).to_numpy(zero_copy_only=False)
    group = pc.binary_join_element_wise(reasons, languages, GROUP_SEPARATOR) if by_language else reasons
    return group, keep


def _read_rows(files: list[Path], reservoir: _Reservoir, group: str) -> list[Example]:
    order = np.argsort(reservoir.keys, kind="stable")
    wanted = [(int(reservoir.files[i]), int(reservoir.rows[i])) for i in order]
    found: dict[tuple[int, int], Example] = {}
    for file_index in sorted({f for f, _ in wanted}):
        rows = sorted(r for f, r in wanted if f == file_index)
        parquet = storage.parquet_file(files[file_index])
        columns = [
            c
            for c in ("text", "url", "id", "language", "language_score", "metadata", "reason")
            if c in parquet.schema_arrow.names
        ]
        start = 0
        for group_index in range(parquet.metadata.num_row_groups):
            end = start + parquet.metadata.row_group(group_index).num_rows
            inside = [r for r in rows if start <= r < end]
            if not inside:
                start = end
                continue
            # Only row groups holding a chosen row are read, in small batches (a row group of removed pages
            # can hold hundreds of MB of HTML), and only up to the last chosen row.
            position = start
            for batch in parquet.iter_batches(
                batch_size=FETCH_ROWS, row_groups=[group_index], columns=columns
            ):
                hits = [r for r in inside if position <= r < position + batch.num_rows]
                if hits:
                    picked = batch.take(pa.array([r - position for r in hits])).to_pylist()
                    for r, record in zip(hits, picked, strict=True):
                        found[(file_index, r)] = _example(record, group)
                position += batch.num_rows
                if position > inside[-1]:
                    break
            start = end
    return [found[key] for key in wanted]


def _example(record: dict, group: str) -> Example:
    group = group.split(GROUP_SEPARATOR)[0]
    try:
        metadata = json.loads(record.get("metadata") or "{}")
    except ValueError:
        metadata = {"metadata": record.get("metadata")}
    return Example(
        reason=record.get("reason") or group,
        text=record.get("text") or "",
        url=record.get("url"),
        id=record.get("id"),
        language=record.get("language"),
        language_score=record.get("language_score"),
        metadata=metadata if isinstance(metadata, dict) else {"metadata": metadata},
    )


def readable_text(example: Example, step: str, max_chars: int = 20_000) -> str:
    """The example's text for a person to read: for pages (url_filter, extraction) the visible text of the
    HTML, not its markup; otherwise the document text. Truncated to `max_chars`."""
    text = example.text[: max_chars * 10] if step in HTML_STEPS else example.text[:max_chars]
    if step in HTML_STEPS and "<" in text:
        text = _visible_text(text)
    return text[:max_chars]


BLOCK_TAGS = (
    "p",
    "div",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "form",
    "table",
    "ul",
    "ol",
    "dd",
    "dt",
    "blockquote",
    "pre",
)
INLINE_TAGS = ("a", "span", "button", "label", "td", "th", "option", "strong", "em", "b", "i")


def _visible_text(page: str) -> str:
    import lxml.html

    try:
        root = lxml.html.document_fromstring(page)
    except (ValueError, lxml.etree.ParserError):
        return page
    for element in root.xpath("//script|//style|//noscript|//template"):
        element.drop_tree()
    title = (root.findtext(".//title") or "").strip()
    head = root.find("head")
    if head is not None:
        head.drop_tree()
    # text_content() glues neighbouring elements ("HomeNewsAbout"): end blocks with a newline, inlines a space.
    for element in root.iter(*BLOCK_TAGS, *INLINE_TAGS):
        element.tail = ("\n" if element.tag in BLOCK_TAGS else " ") + (element.tail or "")
    lines = [" ".join(line.split()) for line in root.text_content().splitlines()]
    lines = [line for line in lines if line]
    return "\n".join(([f"[page title] {title}"] if title else []) + lines)
