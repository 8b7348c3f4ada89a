"""Gopher's n-gram repetition measures, vectorized, with exactly datatrove's results.

datatrove's GopherRepetitionFilter builds a Python string for every n-gram of a document, nine times (top
2/3/4-grams joined with spaces, duplicated 5..10-grams joined without), about 40 ms for a 4 KB page. Here each
n-gram is a hash of a slice of one string, computed for all positions at once with numpy; only n-grams whose
hash occurs twice are looked at in Python, and those are compared as strings, so a hash collision can never
change a result: where one is found, datatrove's own function answers.

Hashes: polynomial over the code points, modulo two primes below 2**31 so every product fits in int64. The
hash of `s[i:j]` is `(G[j] - G[i]) * B**(M - i) mod P`, with `G` the prefix sums of `c_t * B**t`: the same for
equal slices at any position.
"""

from __future__ import annotations

import numpy as np
from datatrove.pipeline.filters.gopher_repetition_filter import (
    find_all_duplicate,
    find_top_duplicate,
    get_n_grams,
)

PRIMES = (2_147_483_647, 2_147_483_629)
BASES = (911_382_323, 972_663_749)


class SliceHashes:
    """Hashes of slices of one string: `hashes(starts, ends)` gives one int64 per slice (two 31-bit halves)."""

    def __init__(self, text: str) -> None:
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(
            np.int64
        )  # (M,)
        self.length = len(codes)
        self.prefix = []  # per prime: (M+1,) prefix sums of c_t * B**t mod P
        self.powers = []  # per prime: (M+1,) B**t mod P
        for prime, base in zip(PRIMES, BASES, strict=True):
            powers = _powers(base, prime, self.length + 1)
            terms = codes * powers[: self.length] % prime  # (M,) each < 2**31: the cumsum fits in int64
            self.prefix.append(np.concatenate(([0], np.cumsum(terms) % prime)))
            self.powers.append(powers)

    def hashes(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """(K,) int64 hash of each slice text[starts[k]:ends[k]]."""
        halves = []
        for prime, prefix, powers in zip(PRIMES, self.prefix, self.powers, strict=True):
            span = (prefix[ends] - prefix[starts]) % prime
            halves.append(
                span * powers[self.length - starts] % prime
            )  # aligned to a fixed power: position-free
        return (halves[0] << 31) | halves[1]


_POWERS: dict[tuple[int, int], np.ndarray] = {}


def _powers(base: int, prime: int, count: int) -> np.ndarray:
    """(count,) int64: base**t mod prime, from a per-process table that grows to the longest text seen."""
    table = _POWERS.get((base, prime))
    if table is None or len(table) < count:
        size = 1 << max(16, (count - 1).bit_length())
        table = np.ones(size, dtype=np.int64)
        filled, step = 1, base % prime  # invariant: table[:filled] is done and step = base**filled mod prime
        while filled < size:  # doubling: table[f:2f] = table[:f] * base**f, products below 2**62
            table[filled : 2 * filled] = table[:filled] * step % prime
            filled, step = 2 * filled, step * step % prime
        _POWERS[(base, prime)] = table
    return table[:count]


class NgramStats:
    """datatrove's `find_top_duplicate(get_n_grams(words, n))` and `find_all_duplicate(words, n)` of one
    document's words."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))  # (W,)
        self.offsets = np.concatenate(([0], np.cumsum(lengths)))  # (W+1,) word starts in "".join(words)
        self.joined = "".join(words)
        self.spaced = " ".join(words)
        self._joined_hashes: SliceHashes | None = None
        self._spaced_hashes: SliceHashes | None = None

    def top_duplicate(self, n: int) -> int:
        """Characters of the most frequent n-gram (words joined by spaces) times its count; ties go to the
        n-gram seen first, as `Counter.most_common(1)` does. Only for n <= len(words)."""
        if self._spaced_hashes is None:
            self._spaced_hashes = SliceHashes(self.spaced)
        first = np.arange(len(self.words) - n + 1)  # (G,) first word of each n-gram
        starts = self.offsets[first] + first  # in the spaced text, word i starts after i spaces
        ends = self.offsets[first + n] + first + n - 1
        keys = self._spaced_hashes.hashes(starts, ends)
        _, first_seen, inverse, counts = np.unique(
            keys, return_index=True, return_inverse=True, return_counts=True
        )
        best = counts.max()
        chosen = first_seen[counts == best].min()  # the earliest of the most frequent
        members = np.flatnonzero(inverse == inverse[chosen])
        gram = self.spaced[starts[chosen] : ends[chosen]]
        if any(self.spaced[starts[m] : ends[m]] != gram for m in members):  # a hash collision: ask datatrove
            return find_top_duplicate(get_n_grams(self.words, n))
        return len(gram) * int(best)

    def all_duplicates(self, n: int) -> int:
        """Characters in repeated n-grams (words joined without spaces), scanning as datatrove does: a repeat
        adds its length and skips past its n words; a new n-gram is remembered and the scan moves one word."""
        count = len(self.words) - n + 1
        if count <= 0:
            return 0
        if self._joined_hashes is None:
            self._joined_hashes = SliceHashes(self.joined)
        starts, ends = self.offsets[:count], self.offsets[n : n + count]
        keys = self._joined_hashes.hashes(starts, ends)
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        repeated = np.flatnonzero(counts[inverse] > 1)  # only n-grams occurring twice can be repeats
        if repeated.size == 0:
            return 0
        classes = {}
        for position in repeated.tolist():  # verify: n-grams sharing a hash must be equal strings
            gram = self.joined[starts[position] : ends[position]]
            if classes.setdefault(int(inverse[position]), gram) != gram:
                return find_all_duplicate(self.words, n)
        return self._scan(repeated.tolist(), inverse, n, ends - starts)

    @staticmethod
    def _scan(positions: list[int], inverse: np.ndarray, n: int, lengths: np.ndarray) -> int:
        """datatrove's scan, visiting only positions whose n-gram occurs more than once: the others are new
        when visited and never looked up again, so they change nothing but the position."""
        seen: set[int] = set()
        repeated_chars, next_position = 0, 0
        for position in positions:
            if position < next_position:  # skipped over by a repeat before it
                continue
            key = int(inverse[position])
            if key in seen:
                repeated_chars += int(lengths[position])
                next_position = position + n
            else:
                seen.add(key)
                next_position = position + 1
        return repeated_chars
