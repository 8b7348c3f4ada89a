"""URL filter with datatrove's bundled blocklists, made offline.

datatrove's URLFilter builds `tldextract.TLDExtract()`, which fetches the public-suffix list from the
network on first use (and, offline, waits for that to time out). tldextract ships a snapshot of the
list; we point it at that snapshot and never at the network.
"""

from __future__ import annotations

from datatrove.pipeline.filters import URLFilter
from tldextract import TLDExtract


class OfflineURLFilter(URLFilter):
    """datatrove's URLFilter (blocklisted domains, subdomains, urls, banned words and subwords), offline."""

    name = "😈 URL filter"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # suffix_list_urls=() -> use the public-suffix snapshot bundled with tldextract; no HTTP.
        self.tldextractor = TLDExtract(suffix_list_urls=(), cache_dir=None)
