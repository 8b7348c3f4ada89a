"""A compact, read-only set of strings on disk: sorted 64-bit hashes plus the strings, memory-mapped.

Why: datatrove's URL blocklist holds 4.5 million domains; as a Python set that is ~0.7 GB per process and
seconds to build. Here it is one file (~160 MB) built once per machine. Opening it costs a few
milliseconds, the pages are shared by every worker through the page cache, and a lookup touches only a
few of them. Nearly every URL is *not* blocklisted, so a lookup first tests one bit of a bitmap indexed
by the top bits of the hash (a one-hash Bloom filter, ~16 bits per string: ~3% of absent strings pass);
only then a binary search in the hash array, then an exact comparison with the stored string, so a hash
collision can never turn into a false match.

File layout (little-endian): MAGIC | n: u64 | blob_len: u64 | bitmap_log2: u64 | hashes: n x u64 (sorted)
| offsets: (n + 1) x u64 (string i is blob[offsets[i]:offsets[i+1]]) | bitmap: 2**bitmap_log2 bits
| blob: the UTF-8 strings.
"""

from __future__ import annotations

import mmap
import os
import struct
import tempfile
from array import array
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import xxhash

MAGIC = b"FMSTRIX2"
_HEADER = len(MAGIC) + 24
_BITS_PER_STRING = 16
_U64 = struct.Struct("<Q")
_U64_PAIR = struct.Struct("<QQ")
_U64_TRIPLE = struct.Struct("<QQQ")
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
            n, blob_len, bitmap_log2 = _U64_TRIPLE.unpack_from(header, len(MAGIC))
            layout = _layout(n, bitmap_log2)
            if os.fstat(f.fileno()).st_size != layout["blob"] + blob_len:
                raise ValueError(f"{self.path}: truncated or corrupt string index")
            # A plain mmap (not np.memmap, whose item access runs Python code): slices are bytes, and the
            # mapping outlives the file object.
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self._n = n
        self._hashes = np.frombuffer(self._map, dtype="<u8", count=n, offset=_HEADER)
        self._offsets_at = layout["offsets"]
        self._bitmap_at = layout["bitmap"]
        self._bitmap_shift = 64 - bitmap_log2
        self._blob_at = layout["blob"]

    def __len__(self) -> int:
        return self._n

    def __contains__(self, s: object) -> bool:
        if not isinstance(s, str) or not self._n:
            return False
        b = encode(s)
        h = hash64(b)
        bit = h >> self._bitmap_shift
        if not (self._map[self._bitmap_at + (bit >> 3)] >> (bit & 7)) & 1:
            return False  # the common case: no string with these top hash bits
        i = int(self._hashes.searchsorted(np.uint64(h)))
        # Equal hashes are adjacent; more than one only on a 64-bit collision.
        while i < self._n and _U64.unpack_from(self._map, _HEADER + 8 * i)[0] == h:
            start, end = _U64_PAIR.unpack_from(self._map, self._offsets_at + 8 * i)
            if self._map[self._blob_at + start : self._blob_at + end] == b:
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
    items = _Packed(strings)
    order = np.argsort(items.hashes, kind="stable")
    order = order[_distinct(items, items.hashes[order], order)]
    offsets = np.zeros(len(order) + 1, dtype="<u8")
    np.cumsum(items.lengths()[order], out=offsets[1:])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it private; the cache is shared by the machine's users
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC)
            sorted_hashes = items.hashes[order]
            bitmap_log2 = _bitmap_log2(len(order))
            f.write(_U64_TRIPLE.pack(len(order), int(offsets[-1]), bitmap_log2))
            f.write(sorted_hashes.tobytes())
            f.write(offsets.tobytes())
            f.write(_bitmap(sorted_hashes, bitmap_log2).tobytes())
            for start in range(0, len(order), _WRITE_CHUNK):
                f.write(items.joined(order[start : start + _WRITE_CHUNK]))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class _Packed:
    """Strings as one UTF-8 buffer plus start offsets and hashes: ~3x less memory than a list of millions
    of bytes objects, which matters because the build runs inside a worker (1 GB budget)."""

    def __init__(self, strings: Iterable[str]) -> None:
        blob, starts, hashes = bytearray(), array("Q"), array("Q")
        for s in strings:
            b = encode(s)
            starts.append(len(blob))
            hashes.append(hash64(b))
            blob += b
        starts.append(len(blob))
        self.blob = blob
        self.starts = np.frombuffer(starts, dtype=np.uint64)
        self.hashes = np.frombuffer(hashes, dtype=np.uint64).astype("<u8")

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, i: int) -> bytes:
        return bytes(self.blob[int(self.starts[i]) : int(self.starts[i + 1])])

    def lengths(self) -> np.ndarray:
        return np.diff(self.starts).astype("<u8")

    def joined(self, indexes: np.ndarray) -> bytes:
        view = memoryview(self.blob)
        return b"".join(
            view[a:b]
            for a, b in zip(self.starts[indexes].tolist(), self.starts[indexes + 1].tolist(), strict=True)
        )


def _distinct(items: _Packed, sorted_hashes: np.ndarray, order: np.ndarray) -> np.ndarray:
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


def _bitmap_log2(n: int) -> int:
    return max(6, int(n * _BITS_PER_STRING).bit_length())  # a power of two >= 16 bits per string


def _bitmap(hashes: np.ndarray, bitmap_log2: int) -> np.ndarray:
    bitmap = np.zeros(2**bitmap_log2 // 8, dtype=np.uint8)
    for start in range(0, len(hashes), _WRITE_CHUNK):  # by chunks: the temporaries stay small
        bits = hashes[start : start + _WRITE_CHUNK] >> np.uint64(64 - bitmap_log2)
        masks = np.left_shift(np.uint8(1), (bits & np.uint64(7)).astype(np.uint8))
        np.bitwise_or.at(bitmap, (bits >> np.uint64(3)).astype(np.intp), masks)
    return bitmap


def _layout(n: int, bitmap_log2: int) -> dict[str, int]:
    """Byte offsets of the sections of an index of n strings."""
    offsets = _HEADER + 8 * n
    bitmap = offsets + 8 * (n + 1)
    return {"offsets": offsets, "bitmap": bitmap, "blob": bitmap + 2**bitmap_log2 // 8}
