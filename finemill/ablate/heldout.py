"""The held-out set of an ablation: documents chosen by a hash of their URL, taken out before any variant.

Bits per byte compares variants only if it is measured on text that none of them trained on, and the same
text for all. `URLHoldout` is a recipe step (`url_holdout` in the registry) that `finemill ablate` puts right
after extraction, before every filter: a document whose URL hashes below `fraction` leaves the stream there
(into `removed/url_holdout/`, text and all) in every variant alike, so no variant's filters, dedup or
training ever see it, and the held-out texts are extracted main text, not yet judged by any filter.

The choice is a pure function of the URL (and a fixed salt), so it does not depend on the variant, the
worker count or the order of the crawl files.
"""

from __future__ import annotations

import hashlib

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

HELD_OUT = "held_out"  # the removal reason
STEP = "url_holdout"  # the step's name in recipes
_SALT = b"fm-heldout"
_TWO_64 = float(2**64)


def url_hash(url: str) -> float:
    """A uniform number in [0, 1) from the URL alone."""
    digest = hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=8, person=_SALT).digest()
    return int.from_bytes(digest, "big") / _TWO_64


def is_held_out(url: str | None, fraction: float) -> bool:
    """Whether a document with this URL is held out (a document without a URL never is)."""
    return bool(url) and url_hash(url) < fraction


class URLHoldout(BaseFilter):
    """Removes the documents whose URL hash is below `fraction` (reason `held_out`)."""

    name = "🔒 URL hold-out"

    def __init__(self, fraction: float = 0.02, exclusion_writer: DiskWriter | None = None) -> None:
        if not 0 <= fraction < 1:
            raise ValueError(f"url_holdout: fraction must be in [0, 1), got {fraction}")
        super().__init__(exclusion_writer)
        self.fraction = fraction

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if is_held_out(doc.metadata.get("url"), self.fraction):
            return False, HELD_OUT
        return True
