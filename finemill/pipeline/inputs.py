"""What a run reads: the files named by `--input` (files, folders, globs), sorted by kind, and the files of a
folder or glob it does not read, each with the reason.

Kinds, by file name:

- crawl: WARC, WET and ARC files (`.warc`, `.wet`, `.arc`, each optionally `.gz`): page HTML (or WET text)
  for the whole recipe, extraction included;
- text: documents whose main text is already extracted: JSON lines (`.jsonl`, `.ndjson`, `.json.gz`, each
  optionally `.gz` or `.zst`; Dolma's and FineWeb's fields) and parquet with a `text` column (FineWeb's
  files, finemill's own `documents/`). The recipe runs without its extraction step.

A run reads one of the two (extraction would run on text). Named together, crawl and text files are refused;
in a folder or glob that holds both (Common Crawl downloads beside an extracted JSONL), the crawl files are read
and the text files skipped with that reason. A file named on its own that is of neither kind is an error; in a
folder or glob it is skipped and the run says so (stats.json `inputs_skipped`, the funnel).
"""

from __future__ import annotations

import glob
import gzip
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from finemill import storage
from finemill.errors import FinemillError

CRAWL_FILE = re.compile(r"\.(warc|wet|arc)(\.gz)?$", re.IGNORECASE)
JSONL_FILE = re.compile(r"\.(jsonl|ndjson)(\.gz|\.zst)?$|\.json\.(gz|zst)$", re.IGNORECASE)
PARQUET_FILE = re.compile(r"\.parquet$", re.IGNORECASE)
TEXT_KINDS = ("jsonl", "parquet")
READS = (
    "WARC/WET/ARC files (.warc, .wet, .arc, optionally .gz), JSON lines with a 'text' field "
    "(.jsonl, .ndjson, .json.gz; optionally .gz/.zst) and parquet with a 'text' column"
)

# Files that come with crawls but hold no page content, and why they are not read.
_NOT_CONTENT = (
    (re.compile(r"\.wat(\.gz)?$", re.IGNORECASE), "WAT metadata, no page content"),
    (re.compile(r"\.cdxj?(\.gz)?$", re.IGNORECASE), "CDX index, no page content"),
    (re.compile(r"\.paths(\.gz)?$", re.IGNORECASE), "a list of file paths, no page content"),
)


@dataclass
class Inputs:
    """The files of a run by kind ("crawl", "jsonl", "parquet"; absolute paths) and those not read."""

    files: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # path as the user would write it -> reason
    listed: dict[str, str] = field(
        default_factory=dict
    )  # absolute path -> as shown, for folder and glob files

    @property
    def all_files(self) -> list[str]:
        return sorted(f for files in self.files.values() for f in files)

    @property
    def kind(self) -> str:
        """ "crawl" or "text" (the recipe runs without extraction); "crawl" when there is nothing."""
        return "text" if any(self.files.get(k) for k in TEXT_KINDS) else "crawl"


def file_kind(name: str) -> str | None:
    """ "crawl", "jsonl" or "parquet" by a file's name; None for a file finemill does not read."""
    if CRAWL_FILE.search(name):
        return "crawl"
    if JSONL_FILE.search(name):
        return "jsonl"
    if PARQUET_FILE.search(name):
        return "parquet"
    return None


def skip_reason(name: str) -> str:
    """Why a file that is not of a kind finemill reads is not read."""
    for pattern, reason in _NOT_CONTENT:
        if pattern.search(name):
            return reason
    return f"not a crawl or text file ({extension(name)})"


def extension(name: str) -> str:
    """`.txt`, `.wat.gz`, `.tar.gz`: the last suffix, with the one before when the last is compression."""
    suffixes = Path(name).suffixes
    if not suffixes:
        return "no extension"
    if suffixes[-1].lower() in (".gz", ".zst", ".bz2", ".xz") and len(suffixes) > 1:
        return "".join(suffixes[-2:])
    return suffixes[-1]


def find_inputs(paths: list[str]) -> Inputs:
    """The files named by `paths` (files, folders, globs) by kind, with the folder and glob files not read.
    One-line errors: a path that matches nothing, a named file or a folder with nothing finemill reads, crawl
    and text files together, a text file without a text field."""
    inputs = Inputs()
    for pattern in paths:
        if storage.is_remote(pattern):
            named, candidates = _remote_candidates(pattern)
            if named:
                _add_named_file(inputs, named)
                continue
        else:
            path = Path(pattern).expanduser()
            if path.is_file():
                _add_named_file(inputs, path)
                continue
            candidates = _local_candidates(path)
        if not candidates:
            raise FinemillError(f"input not found: {pattern}")
        found = 0
        for candidate, shown in candidates:
            kind = None if _hidden(shown) else file_kind(candidate.name)
            if kind is None:
                inputs.skipped[shown] = "hidden file" if _hidden(shown) else skip_reason(candidate.name)
                continue
            absolute = _absolute(candidate)
            inputs.files.setdefault(kind, []).append(absolute)
            inputs.listed[absolute] = shown
            found += 1
        if not found:
            seen = Counter(extension(c.name) for c, _ in candidates)
            listing = ", ".join(f"{n} {ext}" for ext, n in seen.most_common())
            raise FinemillError(
                f"no crawl or text files in {pattern}: found {listing}; finemill reads {READS}"
            )
    inputs.files = {kind: sorted(set(files)) for kind, files in inputs.files.items()}
    _check_one_kind(inputs)
    for kind in TEXT_KINDS:
        for path in inputs.files.get(kind, []):
            check_text_file(path, kind)
    return inputs


def _absolute(path) -> str:
    return str(path) if storage.is_remote(path) else str(path.resolve())


def _local_candidates(path: Path) -> list[tuple[Path, str]]:
    """The files of a local folder (each with its path relative to it) or glob (as matched)."""
    if path.is_dir():
        return [(p, p.relative_to(path).as_posix()) for p in sorted(path.rglob("*")) if p.is_file()]
    return [(Path(m), m) for m in sorted(glob.glob(str(path), recursive=True)) if Path(m).is_file()]


def _remote_candidates(pattern: str) -> tuple[object | None, list]:
    """On object storage: (the file itself, []) when `pattern` names one object, else (None, the files of the
    prefix or glob, each with its path as shown). The bucket is checked first: missing, denied or unreachable
    is a one-line error."""
    storage.check_reachable(pattern)
    fs, inner = storage.filesystem(pattern)
    inner = inner.rstrip("/")
    if not glob.has_magic(inner):
        if fs.isfile(inner):
            return storage.as_path(fs.unstrip_protocol(inner)), []
        found = fs.find(inner, detail=True)
        named = [(key, key[len(inner) + 1 :]) for key in sorted(found)]
    else:
        found = fs.glob(inner, detail=True)
        named = [(key, fs.unstrip_protocol(key)) for key in sorted(found)]
    files = [(key, shown) for key, shown in named if found[key].get("type") == "file"]
    return None, [(storage.as_path(fs.unstrip_protocol(key)), shown) for key, shown in files]


def _hidden(shown: str) -> bool:
    """A file or folder whose name starts with a dot (temporary files, .DS_Store, .git)."""
    return any(part.startswith(".") and part not in (".", "..") for part in Path(shown).parts)


def _add_named_file(inputs: Inputs, path: Path) -> None:
    kind = file_kind(path.name)
    if kind is None:
        raise FinemillError(
            f"{path}: finemill does not read this file ({skip_reason(path.name)}); it reads {READS}"
        )
    inputs.files.setdefault(kind, []).append(_absolute(path))


def _check_one_kind(inputs: Inputs) -> None:
    crawl = len(inputs.files.get("crawl", []))
    text_files = [f for kind in TEXT_KINDS for f in inputs.files.get(kind, [])]
    if crawl and text_files and all(f in inputs.listed for f in text_files):
        for kind in TEXT_KINDS:  # a folder of crawl files with extracted text beside them: read the crawl
            for path in inputs.files.pop(kind, []):
                inputs.skipped[inputs.listed[path]] = (
                    "pre-extracted text beside crawl files (a run reads one "
                    "kind): run it on its own with --input FILE"
                )
        return
    text = len(text_files)
    if crawl and text:
        raise FinemillError(
            f"the inputs mix {crawl} crawl file(s) and {text} text file(s): text skips extraction "
            "and crawl pages need it; run them as two runs"
        )


def check_text_file(path: str, kind: str) -> None:
    """A text input must carry its text where the reader looks for it: a one-line error now rather than a
    task that finds no text later."""
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            names = (
                storage.parquet_file(path).schema_arrow.names
                if storage.is_remote(path)
                else pq.read_schema(path).names
            )
        except Exception as e:  # not parquet at all, or truncated
            raise FinemillError(f"{path}: not a readable parquet file ({e})") from None
        if "text" not in names:
            raise FinemillError(
                f"{path}: no 'text' column (columns: {', '.join(names)}); finemill reads the "
                "document text from 'text'"
            )
        return
    first = _first_line(path)
    if first is None:
        return  # an empty file gives no documents, like an empty crawl file
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        raise FinemillError(
            f"{path}: the first line is not JSON; finemill reads JSON lines, one document each"
        ) from None
    if not isinstance(record, dict) or "text" not in record:
        keys = ", ".join(record) if isinstance(record, dict) else type(record).__name__
        raise FinemillError(
            f"{path}: the first record has no 'text' field (it has: {keys}); finemill reads the "
            "document text from 'text'"
        )


def _first_line(path: str) -> str | None:
    lower = path.lower()
    if storage.is_remote(path):
        import fsspec

        opener = fsspec.open(path, "rt", encoding="utf-8", compression="infer").open()
    elif lower.endswith(".gz"):
        opener = gzip.open(path, "rt", encoding="utf-8")
    elif lower.endswith(".zst"):
        import io

        import zstandard

        opener = io.TextIOWrapper(
            zstandard.ZstdDecompressor().stream_reader(open(path, "rb")), encoding="utf-8"
        )
    else:
        opener = open(path, encoding="utf-8")
    try:
        with opener as f:
            for line in f:
                if line.strip():
                    return line
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise FinemillError(f"{path}: cannot be read as JSON lines ({e})") from None
    return None
