"""Train/val assignment and the seeded order of documents inside a row group.

Both are pure functions of the document id, so they do not depend on worker count, on how the input is
cut into files, or on a resumed run. The split ignores the seed on purpose: changing the shuffle seed must
not move documents between train and val, or validation losses would stop being comparable.
"""

from __future__ import annotations

import hashlib

_TWO_64 = float(2**64)


def split_hash(doc_id: str) -> float:
    """A uniform number in [0, 1) derived from the document id alone."""
    digest = hashlib.blake2b(
        doc_id.encode("utf-8", "surrogatepass"), digest_size=8, person=b"fm-split"
    ).digest()
    return int.from_bytes(digest, "big") / _TWO_64


def is_val(doc_id: str, val_fraction: float) -> bool:
    return split_hash(doc_id) < val_fraction


def order_key(doc_id: str, seed: int) -> bytes:
    """Sort key of a document within its row group under `seed`."""
    return hashlib.blake2b(
        doc_id.encode("utf-8", "surrogatepass"), digest_size=8, salt=seed.to_bytes(8, "big", signed=True)
    ).digest()


def seeded_order(doc_ids: list[str], seed: int) -> list[int]:
    """Row indices in seeded order; equal ids keep their input order so the result is total."""
    return sorted(range(len(doc_ids)), key=lambda i: (order_key(doc_ids[i], seed), i))
