"""`finemill tokenize --inspect SHARD`: one shard row shown with its token boundaries and ids.

Like the tiktokenizer web app: each token gets its own background colour, so a person can see how the
tokenizer cuts real text (word pieces, spaces glued to words, digits in threes, CJK split into bytes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from finemill.errors import FinemillError
from finemill.tokenize.manifest import MANIFEST_NAME, TOKENIZER_NAME

if TYPE_CHECKING:
    from finemill.tokenize.encoder import Encoder


# Named ANSI colours, not hex: on 16-colour terminals rich would fold pastel hex shades onto the same
# colour and neighbouring tokens would merge. Black text on bright backgrounds reads on any theme.
_PALETTE = ["on bright_green", "on bright_yellow", "on bright_cyan", "on bright_magenta", "on bright_white"]


def find_tokenizer(shard: Path) -> Path:
    """The tokenizer that wrote `shard`: the manifest's, else tokenizer.json next to the split folders."""
    tokens_dir = shard.resolve().parent.parent
    manifest = tokens_dir / MANIFEST_NAME
    if manifest.is_file():
        try:
            candidate = tokens_dir / json.loads(manifest.read_text(encoding="utf-8"))["tokenizer"]["path"]
            if candidate.is_file():
                return candidate
        except (json.JSONDecodeError, KeyError, TypeError):
            pass
    candidate = tokens_dir / TOKENIZER_NAME
    if candidate.is_file():
        return candidate
    raise FinemillError(f"no {TOKENIZER_NAME} found for {shard}; pass --tokenizer PATH")


def read_row(shard: Path, row: int) -> tuple[str, list[int], int]:
    """(document id, token ids, number of rows in the shard) of one row, reading one row group only."""
    import pyarrow.parquet as pq

    if not shard.is_file():
        raise FinemillError(f"shard not found: {shard}")
    try:
        pf = pq.ParquetFile(shard)
    except Exception as e:  # pyarrow raises several types for non-parquet files
        raise FinemillError(f"cannot read {shard} as parquet: {e}") from e
    if "input_ids" not in pf.schema_arrow.names:
        raise FinemillError(f"{shard} has no input_ids column: not a token shard")
    total = pf.metadata.num_rows
    if not 0 <= row < total:
        raise FinemillError(f"row {row} is out of range: {shard} has {total} rows (0..{total - 1})")
    for rg in range(pf.metadata.num_row_groups):
        n = pf.metadata.row_group(rg).num_rows
        if row < n:
            table = pf.read_row_group(rg, columns=["id", "input_ids"]).slice(row, 1)
            return str(table.column("id")[0].as_py()), table.column("input_ids")[0].as_py(), total
        row -= n
    raise AssertionError("unreachable: row was checked against num_rows")


def segments(encoder: Encoder, ids: list[int]) -> list[tuple[str, list[int]]]:
    """Token ids grouped into printable spans: a token that ends inside a UTF-8 character is joined with
    the tokens that complete it, so a CJK character cut in two shows as one span with both ids."""
    spans: list[tuple[str, list[int]]] = []
    pending, pending_ids = b"", []
    for token_id in ids:
        pending += encoder.token_bytes(token_id)
        pending_ids.append(token_id)
        try:
            text = pending.decode("utf-8")
        except UnicodeDecodeError:
            if len(pending) < 16:  # wait for the rest of the character
                continue
            text = pending.decode("utf-8", "replace")
        spans.append((text, pending_ids))
        pending, pending_ids = b"", []
    if pending_ids:
        spans.append((pending.decode("utf-8", "replace"), pending_ids))
    return spans


def _visible(text: str) -> str:
    # Newlines and tabs are tokens too; show them, then keep the line break so the text stays readable.
    return text.replace("\t", "→").replace("\r", "␍").replace("\n", "↵\n")


def show(
    shard: Path,
    row: int = 0,
    tokenizer: Path | None = None,
    max_tokens: int = 2000,
    color: bool | None = None,
) -> int:
    """Print row `row` of `shard`; returns the exit code."""
    from rich.console import Console
    from rich.text import Text

    from finemill.tokenize.encoder import Encoder

    shard = Path(shard)
    doc_id, ids, total = read_row(shard, row)
    encoder = Encoder.from_file(tokenizer or find_tokenizer(shard))
    console = Console(highlight=False, soft_wrap=True, force_terminal=color, no_color=color is False)
    colored = console.color_system is not None

    shown = ids[:max_tokens] if max_tokens else ids
    text_bytes = sum(len(encoder.token_bytes(i)) for i in ids)
    console.print(f"[bold]{shard}[/]  row {row} of {total}  id {doc_id}", markup=True)
    console.print(
        f"{len(ids)} tokens, {text_bytes} bytes, {text_bytes / max(len(ids), 1):.2f} bytes/token "
        f"(encoder: {encoder.backend}, vocab {encoder.vocab_size})"
    )
    console.print()
    out = Text()
    for k, (piece, _) in enumerate(segments(encoder, shown)):
        if colored:
            out.append(_visible(piece), style=f"black {_PALETTE[k % len(_PALETTE)]}")
        else:
            out.append(("│" if k else "") + _visible(piece))  # no colour: a bar between tokens
    console.print(out)
    if len(shown) < len(ids):
        console.print(f"... {len(ids) - len(shown)} more tokens (--max-tokens 0 shows all)")
    console.print()
    console.print(f"ids: {shown}")
    return 0
