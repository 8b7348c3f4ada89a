"""URL filter with datatrove's bundled blocklists, made offline and fast to start.

Offline: datatrove's URLFilter builds `tldextract.TLDExtract()`, which fetches the public-suffix list
from the network on first use (and, offline, waits for that to time out). tldextract ships a snapshot of
the list; we point it at that snapshot and never at the network.

Fast to start: datatrove loads its 4.5 million blocklisted domains into a Python set in every task
(~3 s, ~0.7 GB per process). Here they come from `integrated_lists()`: memory-mapped indexes built once
per machine and opened once per process (see `finemill.steps.filters.url_blocklists`). The checks, their
order and the reasons returned are datatrove's; only redundant work per URL is avoided.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import ahocorasick
from datatrove.data import Document
from datatrove.pipeline.filters import URLFilter
from datatrove.pipeline.filters.url_filter import normalize, normalizer
from datatrove.pipeline.writers.disk_base import DiskWriter
from loguru import logger
from tldextract import TLDExtract

from finemill.steps.filters.checks import Check, MeasuredFilter
from finemill.steps.filters.url_blocklists import integrated_lists
from finemill.text.string_index import StringIndex


@functools.cache
def offline_extractor() -> TLDExtract:
    """One extractor per process: it parses the public-suffix snapshot on first use (~0.1 s)."""
    # suffix_list_urls=() -> use the public-suffix snapshot bundled with tldextract; no HTTP.
    return TLDExtract(suffix_list_urls=(), cache_dir=None)


@functools.lru_cache(maxsize=16)
def subword_automaton(words: frozenset[str]) -> ahocorasick.Automaton:
    """An Aho-Corasick automaton over `words`, shared by the filters that have the same words."""
    automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    for word in words:
        automaton.add_word(word, len(automaton))
    automaton.make_automaton()
    return automaton


class Blocklist:
    """The recipe's extra entries plus, when integrated lists are used, datatrove's (an index on disk)."""

    def __init__(self, extra: set[str], integrated: StringIndex | None) -> None:
        self.extra = extra
        self.integrated = integrated

    def __contains__(self, s: object) -> bool:
        return s in self.extra or (self.integrated is not None and s in self.integrated)


class OfflineURLFilter(MeasuredFilter, URLFilter):
    """datatrove's URLFilter (blocklisted domains, subdomains, urls, banned words and subwords), offline."""

    name = "😈 URL filter"

    def __init__(
        self,
        soft_word_threshold: int = 2,
        extra_domains: list[str] | None = None,
        extra_urls: list[str] | None = None,
        banned_words: list[str] | None = None,
        banned_subwords: list[str] | None = None,
        soft_banned_words: list[str] | None = None,
        use_integrated_lists: bool = True,
        exclusion_writer: DiskWriter | None = None,
    ) -> None:
        # URLFilter's arguments, typed as lists so that the recipe loader rejects `extra_domains: a.com`
        # (datatrove takes any iterable: a string would become a list of its characters).
        super().__init__(
            soft_word_threshold,
            extra_domains,
            extra_urls,
            banned_words,
            banned_subwords,
            soft_banned_words,
            use_integrated_lists,
            exclusion_writer,
        )
        self.tldextractor = offline_extractor()

    def download_data(self) -> None:
        """Attach the integrated lists (once per process, see `integrated_lists`) to this filter's extras."""
        if self._downloaded:
            return
        try:
            lists = integrated_lists() if self.use_integrated_lists else None
        except OSError as e:  # e.g. a read-only home: slower and bigger, but the same decisions
            logger.warning(f"URL filter: no blocklist cache ({e}); loading datatrove's lists in memory")
            super().download_data()
            return
        self.block_listed_domains = Blocklist(self.block_listed_domains, lists.domains if lists else None)
        self.block_listed_url = Blocklist(self.block_listed_url, lists.urls if lists else None)
        if lists:
            self.banned_words = self.banned_words | lists.banned_words
            self.banned_subwords = self.banned_subwords | lists.banned_subwords
            self.soft_banned_words = self.soft_banned_words | lists.soft_banned_words
        self.banned_subwords_automaton = subword_automaton(frozenset(self.banned_subwords))
        self._downloaded = True

    def checks(self, document: Document) -> Iterator[Check]:
        """datatrove's checks in datatrove's order, with set operations instead of loops over word lists. Only the
        soft-banned words have a number; the other rules appear when they fire."""
        self.download_data()
        url = document.metadata.get("url")

        assert url, "Document does not have url in its metadata"
        url_info = self.tldextractor(url)

        # top_domain_under_public_suffix is registered_domain without its per-call deprecation warning.
        domain, fqdn = url_info.top_domain_under_public_suffix, url_info.fqdn
        if domain in self.block_listed_domains:
            yield Check("domain", "the domain is on datatrove's URL blocklist")
            return
        if fqdn != domain and fqdn in self.block_listed_domains:  # equal: answered on the line above
            yield Check("subdomain", "the full host name is on datatrove's URL blocklist")
            return
        if url in self.block_listed_url:
            yield Check("url", "the exact URL is on datatrove's URL blocklist")
            return
        url_words = self.url_words(url)
        if not self.banned_words.isdisjoint(url_words):
            yield Check(
                "hard_blacklisted", "the URL contains a banned word", found=url_words & self.banned_words
            )
            return
        soft = url_words & self.soft_banned_words
        yield Check(
            "soft_blacklisted",
            "soft-banned words in the URL",
            len(soft),
            self.soft_word_threshold,
            ">=",
            found=soft,
        )
        if self.banned_subwords and next(self.banned_subwords_automaton.iter(normalize(url)), False):
            yield Check("blacklisted_subword", "the URL contains a banned subword")

    @staticmethod
    def url_words(url: str) -> set[str]:
        """The words of a URL that the word lists are matched against (datatrove's split)."""
        return set(normalizer.split(url))

    def __getstate__(self) -> dict[str, Any]:
        # datatrove pickles each task's pipeline to its worker: send no parsed suffix list; the worker
        # uses its own process-wide extractor (and the indexes pickle as their paths).
        state = self.__dict__.copy()
        state["tldextractor"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.tldextractor = offline_extractor()
