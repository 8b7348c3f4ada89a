"""A compact, read-only set of strings on disk: sorted 64-bit hashes plus the strings, memory-mapped.

Why: datatrove's URL blocklist holds 4.5 million domains; as a Python set that is ~0.7 GB per process and
seconds to build. Here it is one file (~160 MB) built once per machine. Opening it costs a few
milliseconds, the pages are shared by every worker through the page cache, and a lookup touches only a
few of them: a binary search in the hash array, then an exact comparison with the stored string, so a
hash collision can never turn into a false match.

File layout (little-endian): MAGIC | n: u64 | blob_len: u64 | hashes: n x u64 (sorted)
| offsets: (n + 1) x u64 (string i is blob[offsets[i]:offsets[i+1]]) | blob: the UTF-8 strings.
"""

from __future__ import annotations

import mmap
import os
import struct
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import xxhash

MAGIC = b"FMSTRIX1"
_HEADER = len(MAGIC) + 16
_U64 = struct.Struct("<Q")
_U64_PAIR = struct.Struct("<QQ")
_WRITE_CHUNK = 100_000  # strings joined per write: bounds the memory of a build


def encode(s: str) -> bytes:
    # surrogatepass: a URL with a lone surrogate must not raise; it cannot equal a stored (valid UTF-8) string.
    return s.encode("utf-8", "surrogatepass")


def hash64(b: bytes) -> int:
    return xxhash.xxh3_64_intdigest(b)


class StringIndex:
    """Membership test (`s in index`) over the strings of one index file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as f:
            header = f.read(_HEADER)
            if len(header) != _HEADER or header[: len(MAGIC)] != MAGIC:
                raise ValueError(f"{self.path}: not a string index")
            n, blob_len = _U64_PAIR.unpack_from(header, len(MAGIC))
            if os.fstat(f.fileno()).st_size != _HEADER + 8 * n + 8 * (n + 1) + blob_len:
                raise ValueError(f"{self.path}: truncated or corrupt string index")
            # A plain mmap (not np.memmap, whose item access runs Python code): slices are bytes, and the
            # mapping outlives the file object.
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self._n = n
        self._hashes = np.frombuffer(self._map, dtype="<u8", count=n, offset=_HEADER)
        self._offsets_at = _HEADER + 8 * n
        self._blob_at = _HEADER + 8 * (2 * n + 1)

    def __len__(self) -> int:
        return self._n

    def __contains__(self, s: object) -> bool:
        if not isinstance(s, str) or not self._n:
            return False
        b = encode(s)
        h = hash64(b)
        i = int(self._hashes.searchsorted(np.uint64(h)))
        # Equal hashes are adjacent; more than one only on a 64-bit collision.
        while i < self._n and _U64.unpack_from(self._map, _HEADER + 8 * i)[0] == h:
            start, end = _U64_PAIR.unpack_from(self._map, self._offsets_at + 8 * i)
            if self._map[self._blob_at + start:self._blob_at + end] == b:
                return True
            i += 1
        return False

    def __reduce__(self):
        # Pickled (datatrove sends pipeline steps to its workers) as its path: the receiver maps the same
        # file instead of receiving hundreds of megabytes.
        return (StringIndex, (str(self.path),))


def write_index(strings: Iterable[str], path: str | Path) -> None:
    """Write the distinct `strings` as an index file, atomically: a reader sees the old file, no file, or
    the complete new one, never a partial one (a temp file in the same folder, then a rename)."""
    items = [encode(s) for s in strings]
    hashes = np.fromiter((hash64(b) for b in items), dtype="<u8", count=len(items))
    order = np.argsort(hashes, kind="stable")
    order = order[_distinct(items, hashes[order], order)]
    lengths = np.fromiter((len(items[i]) for i in order), dtype="<u8", count=len(order))
    offsets = np.zeros(len(order) + 1, dtype="<u8")
    np.cumsum(lengths, out=offsets[1:])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it private; the cache is shared by the machine's users
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC)
            f.write(np.array([len(order), int(offsets[-1])], dtype="<u8").tobytes())
            f.write(hashes[order].tobytes())
            f.write(offsets.tobytes())
            for start in range(0, len(order), _WRITE_CHUNK):
                f.write(b"".join(items[i] for i in order[start:start + _WRITE_CHUNK]))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _distinct(items: list[bytes], sorted_hashes: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Mask over `order` keeping the first of equal strings. Equal strings have equal hashes, hence are
    neighbours in hash order; only those neighbours are compared (not a set of millions of strings)."""
    keep = np.ones(len(order), dtype=bool)
    same_hash = np.flatnonzero(sorted_hashes[1:] == sorted_hashes[:-1]) + 1
    group: list[bytes] = []
    previous = -2
    for j in same_hash.tolist():
        if j - 1 != previous:  # a new run of equal hashes, starting at j - 1
            group = [items[order[j - 1]]]
        previous = j
        b = items[order[j]]
        if b in group:
            keep[j] = False
        else:
            group.append(b)
    return keep
