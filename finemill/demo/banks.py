"""The sample crawl's banks of text, read from `banks.json` (package data) into the shapes the generator
uses: tuples, and the Topic and Site records.

Templates use {slots} (a topic's own, or the shared ones) and [alternative|words]; `crawl.fill_slots`
fills them. Everything in the file was written for the sample: it holds no third-party pages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Topic:
    """Everything needed to write an article on one subject."""

    name: str
    section: str
    titles: tuple[str, ...]
    headings: tuple[str, ...]
    slots: dict[str, tuple[str, ...]]
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Site:
    domain: str
    name: str
    topic: str  # a Topic name, or "digest" for sites whose long reads mix several topics
    url_style: int  # 0: /section/yyyy/mm/slug/  1: /blog/slug.html  2: /section/id-slug


def frozen(value: Any) -> Any:
    """JSON lists as tuples, recursively: the banks are constants."""
    if isinstance(value, list):
        return tuple(frozen(item) for item in value)
    if isinstance(value, dict):
        return {key: frozen(item) for key, item in value.items()}
    return value


def load_banks() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("banks.json").read_text(encoding="utf-8")
    return frozen(json.loads(text))


BANKS = load_banks()

FIRST_NAMES: tuple[str, ...] = BANKS["first_names"]
LAST_NAMES: tuple[str, ...] = BANKS["last_names"]
SHARED_SLOTS: dict[str, tuple[str, ...]] = BANKS["shared_slots"]
TOPICS = tuple(Topic(**topic) for topic in BANKS["topics"])
# Sentences that fit any article; they still carry slots and alternatives, so two articles rarely share them.
GENERIC_SENTENCES: tuple[str, ...] = BANKS["generic_sentences"]
# Other-language pages (language code -> domains, nav, titles, sentences): LanguageFilter must reject them.
FOREIGN_LANGUAGES: dict[str, dict[str, tuple[str, ...]]] = BANKS["foreign_languages"]
# Real entries of datatrove's bundled URL blocklists (gambling, pharmacy and phishing domains, subdomains
# of a public-suffix host) and of its banned / soft-banned word lists. The page bodies stay tame.
BLOCKLISTED_URLS: tuple[str, ...] = BANKS["blocklisted_urls"]
BLOCKLISTED_BODY: tuple[str, ...] = BANKS["blocklisted_body"]

# Where the good articles live.
SITES = tuple(Site(**site) for site in BANKS["sites"])
TOPIC_SITES = [site for site in SITES if site.topic != "digest"]
DIGEST_SITES = [site for site in SITES if site.topic == "digest"]
DIGEST_TITLES: tuple[str, ...] = BANKS["digest_titles"]

# Page chrome: menus, headers (with {site} and {menu}), breadcrumbs, share bar, server names.
SITE_NAV_ITEMS: tuple[tuple[str, ...], ...] = BANKS["site_nav_items"]
HEADERS: tuple[str, ...] = BANKS["headers"]
BREADCRUMBS: str = BANKS["breadcrumbs"]
SHARE_BAR: str = BANKS["share_bar"]
SERVERS: tuple[str, ...] = BANKS["servers"]

# Contact lines with {email}, {phone}, {public_ip}, {private_ip}, {domain}, {first} and {last}.
PII_SENTENCES: tuple[str, ...] = BANKS["pii_sentences"]
# An English travel piece full of accented words that windows-1252 and ISO-8859-1 share.
WINDOWS_1252_ARTICLE: dict[str, Any] = BANKS["windows_1252_article"]
NEAR_DUPLICATE_NOTES: dict[str, str] = BANKS["near_duplicate_notes"]

# Pages with nothing worth keeping. The empty kind has no text at all outside the header, aside and
# footer, so trafilatura returns nothing; the chrome kind leaks menus and buttons into the text, and the
# filters after the extractor have to catch them. Placeholders: {number}, {images}, {products}.
EMPTY_MAINS: tuple[str, ...] = BANKS["empty_mains"]
CHROME_MAINS: tuple[str, ...] = BANKS["chrome_mains"]
PRODUCT_NAMES: tuple[str, ...] = BANKS["product_names"]
VERY_SHORT_MAINS: tuple[str, ...] = BANKS["very_short_mains"]

SPAM_SERVICES: tuple[str, ...] = BANKS["spam_services"]
HASHTAGS: tuple[str, ...] = BANKS["hashtags"]
LOREM_WORDS: tuple[str, ...] = BANKS["lorem_words"]
# Filled in per page ({word}, {Word}, {number}, {ms}): trafilatura drops a paragraph of over 100
# characters on its fourth sighting.
CODE_SNIPPETS: tuple[str, ...] = BANKS["code_snippets"]
CODE_WORDS: tuple[str, ...] = BANKS["code_words"]
MARKET_STALLS: tuple[str, ...] = BANKS["market_stalls"]
# Short verses written for this sample: nearly every line is under 30 characters.
POEMS: tuple[tuple[str, ...], ...] = BANKS["poems"]
DUPLICATED_LINES: tuple[str, ...] = BANKS["duplicated_lines"]
