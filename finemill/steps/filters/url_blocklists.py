"""datatrove's integrated URL blocklists, loaded once per process from indexes built once per machine.

datatrove's URLFilter re-reads its 4.5 million blocklisted domains into a Python set in every task
(~3 s, ~0.7 GB). Here the domain and URL lists become two `StringIndex` files under
~/.cache/finemill/url_filter, named after datatrove's version and the sha256 of the list archive it
ships, so a new datatrove or new lists can never be answered from a stale cache. The first process on a
machine builds them (a file lock keeps concurrent workers from building twice); every later process
maps them in milliseconds. Within a process, `integrated_lists()` is cached: all the tasks a worker runs,
and all URL filters of a pipeline, share one copy.

The lists are parsed with datatrove's own `parse_list` / `get_list`, from the same files, so the entries
are exactly those of its sets.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import locale
import os
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from datatrove.pipeline.filters.url_filter import get_list, parse_list
from datatrove.utils._import_utils import ASSETS_PATH
from fasteners import InterProcessLock

from finemill.text.string_index import StringIndex, write_index

# The archive datatrove's URLFilter.download_data extracts; its members "domains" and "urls" are the lists.
LISTS_ARCHIVE = Path(ASSETS_PATH) / "url_filterblacklistsv0_3_0.tar.gz"
INDEXED_LISTS = ("domains", "urls")
DATATROVE_VERSION = version("datatrove")
FORMAT_VERSION = 2  # bump when the index layout or the build changes
_PARSE_CHUNK = 200_000  # lines parsed per parse_list call: bounds the memory of a build


@dataclass(frozen=True)
class IntegratedLists:
    domains: StringIndex
    urls: StringIndex
    banned_words: frozenset[str]
    banned_subwords: frozenset[str]
    soft_banned_words: frozenset[str]


def cache_dir() -> Path:
    """$FINEMILL_URL_FILTER_CACHE, else $XDG_CACHE_HOME/finemill/url_filter, else ~/.cache/finemill/url_filter."""
    if os.environ.get("FINEMILL_URL_FILTER_CACHE"):
        return Path(os.environ["FINEMILL_URL_FILTER_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "finemill" / "url_filter"


def cache_key() -> str:
    digest = hashlib.sha256()
    # The text encoding is part of the key: datatrove reads the lists with open()'s default encoding.
    digest.update(f"{DATATROVE_VERSION}|{FORMAT_VERSION}|{locale.getpreferredencoding(False)}|".encode())
    with open(LISTS_ARCHIVE, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"datatrove-{DATATROVE_VERSION}-{digest.hexdigest()[:20]}"


def index_paths(directory: Path | None = None) -> dict[str, Path]:
    directory = directory or cache_dir()
    key = cache_key()
    return {name: directory / f"{name}-{key}.idx" for name in INDEXED_LISTS}


@functools.cache
def integrated_lists() -> IntegratedLists:
    """The integrated lists, once per process."""
    paths = index_paths()
    indexes = _open_indexes(paths)
    if indexes is None:
        next(iter(paths.values())).parent.mkdir(parents=True, exist_ok=True)
        with InterProcessLock(str(next(iter(paths.values())).with_suffix(".lock"))):
            indexes = _open_indexes(paths)  # another worker may have built them while we waited
            if indexes is None:
                build_indexes(paths)
                indexes = _open_indexes(paths)
    assert indexes is not None, f"could not open the URL blocklist indexes {paths}"
    return IntegratedLists(
        domains=indexes["domains"],
        urls=indexes["urls"],
        banned_words=frozenset(get_list(ASSETS_PATH, "banned_words.txt", set())),
        banned_subwords=frozenset(get_list(ASSETS_PATH, "banned_subwords.txt", set())),
        soft_banned_words=frozenset(get_list(ASSETS_PATH, "soft_banned_words.txt", set())),
    )


def _open_indexes(paths: dict[str, Path]) -> dict[str, StringIndex] | None:
    try:
        return {name: StringIndex(path) for name, path in paths.items()}
    except (OSError, ValueError):  # missing, or left corrupt by something else than us: (re)build
        return None


def build_indexes(paths: dict[str, Path]) -> None:
    """Read the lists from datatrove's archive (no extraction needed) and write one index per list."""
    with tarfile.open(LISTS_ARCHIVE, "r:gz") as tar:
        for member in tar:
            if member.name in paths:
                stream = tar.extractfile(member)
                assert stream is not None, f"{LISTS_ARCHIVE}: {member.name} is not a file"
                # encoding=None and universal newlines: what datatrove's open() of the extracted file does.
                write_index(_parsed(io.TextIOWrapper(stream, encoding=None)), paths[member.name])
    missing = [name for name, path in paths.items() if not path.exists()]
    if missing:
        raise FileNotFoundError(f"{LISTS_ARCHIVE} has no member {missing[0]!r}")


def _parsed(lines: Iterable[str]) -> Iterator[str]:
    """datatrove's parse_list (non-normalized, as for domains and urls), a chunk of lines at a time."""
    lines = iter(lines)
    while chunk := list(itertools.islice(lines, _PARSE_CHUNK)):
        yield from parse_list(chunk, do_normalize=False)
