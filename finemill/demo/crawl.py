"""The bundled sample crawl: a small Common Crawl-like WARC file generated from finemill's own text.

`finemill run` with no arguments needs a crawl to work on, and we do not ship third-party web pages.
So the sample is written here, deterministically (fixed seed, fixed WARC dates and record ids: the same
bytes on every run), from hand-written banks of sentence templates (`banks.json`, package data, read by
`banks.py`) combined with a seeded RNG.

The pages are chosen so that every step of the FineWeb recipe has something to remove
(tests/demo/test_sample_crawl.py runs datatrove's own blocks over the file and checks it):

======================================  ============================================================
category                                first removed by
======================================  ============================================================
blocklisted_url                         URLFilter: domains, subdomains and banned words from
                                        datatrove's bundled lists (the pages themselves are tame)
boilerplate_only                        Trafilatura when there is no text at all (app shells,
                                        galleries, embeds); the later filters when menus, buttons
                                        and prices leak through (login forms, consent walls, grids)
very_short                              LanguageFilter or GopherRepetitionFilter (a few words)
foreign_language                        LanguageFilter (de, fr, es, it, nl, pt, pl)
repetitive, keyword_stuffed             GopherRepetitionFilter (duplicated lines, top 2-grams)
low_quality                             GopherQualityFilter (too few words, hashtags, ellipses,
                                        tables of numbers)
lorem_ipsum, code_like, few_sentences   C4QualityFilter (lorem ipsum, "{", fewer than 5 sentences)
list_like, verse, duplicated_lines      FineWebQualityFilter (lines without punctuation, short
                                        lines, characters in duplicated lines)
exact_duplicate, near_duplicate         MinHash (a copy of a good article: one of each pair goes)
good, good_with_pii, good_windows_1252  nothing: the articles the recipe keeps (PII scrubbing
                                        rewrites the emails and public IPs of good_with_pii)
non_html                                the reader (image/png and application/pdf responses)
======================================  ============================================================

The file also holds what real crawl files hold besides pages: a warcinfo record, request and metadata
records, records without WARC-Identified-Payload-Type (the reader must sniff them), and a page encoded
in windows-1252.

    python -m finemill.demo.crawl OUT.warc.gz
"""

from __future__ import annotations

import hashlib
import html
import io
import ipaddress
import json
import random
import re
import struct
import sys
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from finemill.demo.banks import (
    BLOCKLISTED_BODY,
    BLOCKLISTED_URLS,
    BREADCRUMBS,
    CHROME_MAINS,
    CODE_SNIPPETS,
    CODE_WORDS,
    DIGEST_SITES,
    DIGEST_TITLES,
    DUPLICATED_LINES,
    EMPTY_MAINS,
    FIRST_NAMES,
    FOREIGN_LANGUAGES,
    GENERIC_SENTENCES,
    HASHTAGS,
    HEADERS,
    LAST_NAMES,
    LOREM_WORDS,
    MARKET_STALLS,
    NEAR_DUPLICATE_NOTES,
    PII_SENTENCES,
    POEMS,
    PRODUCT_NAMES,
    SERVERS,
    SHARE_BAR,
    SHARED_SLOTS,
    SITE_NAV_ITEMS,
    SITES,
    SPAM_SERVICES,
    TOPIC_SITES,
    TOPICS,
    VERY_SHORT_MAINS,
    WINDOWS_1252_ARTICLE,
    Site,
    Topic,
)

CRAWL_START = datetime(2024, 4, 12, 6, 0, 0, tzinfo=timezone.utc)
CRAWLER_USER_AGENT = "CCBot/2.0 (https://commoncrawl.org/faq/)"
WARC_FIELDS = "application/warc-fields"

# How many pages of each kind. ~45% of the HTML pages are good articles that survive the whole recipe.
CATEGORY_COUNTS = {
    "good": 138,
    "good_with_pii": 12,
    "good_windows_1252": 1,
    "exact_duplicate": 10,
    "near_duplicate": 14,
    "foreign_language": 42,
    "blocklisted_url": 16,
    "boilerplate_only": 18,
    "very_short": 8,
    "repetitive": 10,
    "keyword_stuffed": 6,
    "low_quality": 12,
    "lorem_ipsum": 6,
    "code_like": 6,
    "few_sentences": 6,
    "list_like": 5,
    "verse": 5,
    "duplicated_lines": 8,
}


# ---------------------------------------------------------------------------------------------------
# Writing articles.
# ---------------------------------------------------------------------------------------------------

SLOT_PATTERN = re.compile(r"\{(\w+)\}")
ALTERNATIVES_PATTERN = re.compile(r"\[([^\[\]]*)\]")


def fill_slots(
    template: str, slots: dict[str, tuple[str, ...]], rng: random.Random, focus: dict[str, str] | None = None
) -> str:
    """The template with each [a|b] replaced by one of its alternatives and each {slot} by a random value
    (a person's name for {name}), mostly the article's `focus` value for that slot (the dish or city
    of the title). Alternatives every few words mean two articles built from the same templates share
    few 5-word shingles, which is what MinHash compares."""

    def pick_alternative(match: re.Match) -> str:
        return rng.choice(match.group(1).split("|"))

    def pick_slot(match: re.Match) -> str:
        slot = match.group(1)
        if focus and slot in focus and rng.random() < 0.8:
            return focus[slot]
        if slot == "name":
            return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        return rng.choice(slots.get(slot) or SHARED_SLOTS[slot])

    text = SLOT_PATTERN.sub(pick_slot, ALTERNATIVES_PATTERN.sub(pick_alternative, template))
    return text[0].upper() + text[1:]


@dataclass
class Article:
    """An article before it is wrapped in a site's page: title, byline and body blocks (tag, text)."""

    title: str
    author: str
    published: str  # "9 April 2024"
    blocks: list[tuple[str, str]] = field(default_factory=list)

    def words(self) -> int:
        return sum(len(text.split()) for _, text in self.blocks)


def new_article(title: str, rng: random.Random) -> Article:
    return Article(
        title=title,
        author=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        published=f"{rng.randint(1, 28)} {rng.choice(SHARED_SLOTS['month'])} {rng.randint(2022, 2024)}",
    )


def topic_title(topic: Topic, rng: random.Random) -> tuple[str, dict[str, str]]:
    """A title for an article on `topic`, and the slot values it settled on (what the article is about)."""
    template = rng.choice(topic.titles)
    slots = {**SHARED_SLOTS, **topic.slots}
    focus = {slot: rng.choice(slots[slot]) for slot in SLOT_PATTERN.findall(template)}
    title = SLOT_PATTERN.sub(lambda match: focus[match.group(1)], template)
    return title[0].upper() + title[1:], focus


def add_paragraphs(
    article: Article, templates: list[str], topic: Topic, focus: dict, rng: random.Random, words: int
) -> None:
    """Paragraphs of 2-5 sentences until the article has `words` words or the templates run out.
    No template is used twice: Gopher would see a repeated sentence as repetition."""
    while templates and article.words() < words:
        size = min(rng.randint(2, 5), len(templates))
        sentences = (fill_slots(templates.pop(), topic.slots, rng, focus) for _ in range(size))
        article.blocks.append(("p", " ".join(sentences)))


def write_article(topic: Topic, rng: random.Random, target_words: int) -> Article:
    """A single-topic article of roughly `target_words` (at most ~650) words under a few headings.
    Each article draws on a random part of its topic's templates, so that two articles on the same
    topic stay far apart for MinHash."""
    templates = rng.sample(topic.sentences, k=13) + rng.sample(GENERIC_SENTENCES, k=13)
    rng.shuffle(templates)
    headings = rng.sample(topic.headings, k=len(topic.headings))
    title, focus = topic_title(topic, rng)
    article = new_article(title, rng)
    add_paragraphs(article, templates, topic, focus, rng, min(target_words, 120))
    while templates and headings and article.words() < target_words:
        article.blocks.append(("h2", headings.pop()))
        section_end = min(target_words, article.words() + rng.randint(120, 220))
        add_paragraphs(article, templates, topic, focus, rng, section_end)
    return article


def write_digest(rng: random.Random, sections: int) -> Article:
    """A long read (800-1,500 words) made of several short pieces on different topics, as weekend
    editions and newsletters are."""
    month = rng.choice(SHARED_SLOTS["month"])
    article = new_article(f"{rng.choice(DIGEST_TITLES)}: {month} edition", rng)
    generic = rng.sample(GENERIC_SENTENCES, k=len(GENERIC_SENTENCES))
    for topic in rng.sample(TOPICS, k=sections):
        heading, focus = topic_title(topic, rng)
        article.blocks.append(("h2", heading))
        templates = rng.sample(topic.sentences, k=10) + [generic.pop() for _ in range(4)]
        rng.shuffle(templates)
        add_paragraphs(article, templates, topic, focus, rng, min(1500, article.words() + 320))
    return article


def article_html(article: Article) -> str:
    """The <article> element: title, byline, then the body blocks."""
    parts = [
        "<article>",
        f"<h1>{html.escape(article.title)}</h1>",
        f'<p class="byline">By {html.escape(article.author)} | <time>{article.published}</time></p>',
    ]
    parts += [f"<{tag}>{html.escape(text)}</{tag}>" for tag, text in article.blocks]
    parts.append("</article>")
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------------
# Wrapping a body in a web page: head, cookie banner, header and menu, sidebar, footer.
# ---------------------------------------------------------------------------------------------------


def page_html(
    title: str,
    main: str,
    site_name: str,
    rng: random.Random,
    *,
    lang: str = "en",
    charset: str = "utf-8",
    nav: tuple[str, ...] | None = None,
    sidebar_titles: tuple[str, ...] = (),
    chrome: str = "full",
) -> str:
    """A whole HTML document around `main`. chrome="full": cookie banner (sometimes), text menu,
    sidebar, footer; "icons": an icon-only header, aside and footer (text an extractor always drops);
    "none": just the body."""
    head = (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="{charset}">\n'
        f"<title>{html.escape(title)} | {html.escape(site_name)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="stylesheet" href="/static/css/main.css">\n</head>\n<body>'
    )
    if chrome == "none":
        return f"{head}\n{main}\n</body>\n</html>\n"
    blocks = [head]
    if chrome == "icons":
        blocks.append(
            '<header><a href="/"><img src="/static/logo.svg" alt=""></a><nav><a href="/search">'
            '<img src="/static/icons/search.svg" alt=""></a><a href="/account"><img src="/static/icons/user.svg" alt="">'
            "</a></nav></header>"
        )
    else:
        if rng.random() < 0.6:
            blocks.append(
                '<div id="cookie-banner" class="cookie-notice"><p>We use cookies to improve your experience. '
                "By continuing to browse you agree to our use of cookies.</p>"
                '<button>Accept all</button> <a href="/cookies/">Settings</a></div>'
            )
        items = nav or rng.choice(SITE_NAV_ITEMS)
        menu = "".join(f'<li><a href="/{slugify(item)}/">{html.escape(item)}</a></li>' for item in items)
        blocks.append(rng.choice(HEADERS).format(site=html.escape(site_name), menu=menu))
    extras = [block for block in (BREADCRUMBS, SHARE_BAR) if chrome == "full" and rng.random() < 0.4]
    blocks.append("<main>\n" + "\n".join([*extras[:1], main, *extras[1:]]) + "\n</main>")
    if sidebar_titles:
        links = "".join(f'<li><a href="/{slugify(t)}/">{html.escape(t)}</a></li>' for t in sidebar_titles)
        blocks.append(
            f'<aside class="sidebar"><h3>Most read</h3><ul>{links}</ul>'
            '<div class="newsletter"><h3>Newsletter</h3><p>Get our best stories every Friday.</p>'
            '<form><input type="email" placeholder="Your email"><button>Sign up</button></form></div></aside>'
        )
    blocks.append(
        f"<footer><p>&copy; 2024 {html.escape(site_name)}. All rights reserved.</p><ul>"
        '<li><a href="/about/">About us</a></li><li><a href="/contact/">Contact</a></li>'
        '<li><a href="/privacy/">Privacy policy</a></li><li><a href="/terms/">Terms of use</a></li></ul></footer>'
    )
    blocks.append('<script src="/static/js/app.js" defer></script>\n</body>\n</html>\n')
    return "\n".join(blocks)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def article_url(site: Site, article: Article, serial: int) -> str:
    slug = slugify(article.title)[:70].strip("-")
    _, month, year = article.published.split()
    section = next((t.section for t in TOPICS if t.name == site.topic), "features")
    if site.url_style == 0:
        return f"https://{site.domain}/{section}/{year}/{SHARED_SLOTS['month'].index(month) + 1:02d}/{slug}/"
    if site.url_style == 1:
        return f"https://{site.domain}/blog/{slug}.html"
    return f"https://{site.domain}/{section}/{10400 + serial}-{slug}"


# ---------------------------------------------------------------------------------------------------
# Pages of each category.
# ---------------------------------------------------------------------------------------------------


@dataclass
class Page:
    """One crawled HTML page: what the WARC response holds, and which category it stands for."""

    url: str
    category: str
    html: str
    charset: str = "utf-8"
    sniff: bool = False  # no WARC-Identified-Payload-Type: the reader has to look at the bytes


@dataclass
class GoodArticle:
    site: Site
    article: Article
    page: Page


def make_good_article(rng: random.Random, serial: int) -> GoodArticle:
    # Most web articles are short; about one in eight is a long multi-topic read.
    if rng.random() < 0.12:
        site = DIGEST_SITES[serial % len(DIGEST_SITES)]
        article = write_digest(rng, sections=rng.randint(3, 5))
    else:
        site = TOPIC_SITES[serial % len(TOPIC_SITES)]
        topic = next(t for t in TOPICS if t.name == site.topic)
        article = write_article(topic, rng, target_words=300 + int(rng.expovariate(1 / 150)))
    good = GoodArticle(site, article, Page(url=article_url(site, article, serial), category="good", html=""))
    good.page.html = render_good_article(good, rng)
    return good


def render_good_article(good: GoodArticle, rng: random.Random) -> str:
    sidebar = tuple(fill_slots(rng.choice(t.titles), t.slots, rng) for t in rng.sample(TOPICS, k=4))
    article = good.article
    return page_html(article.title, article_html(article), good.site.name, rng, sidebar_titles=sidebar)


def public_ip(rng: random.Random) -> str:
    """A globally routable IPv4 address (what datatrove's PII formatter replaces)."""
    while True:
        address = ipaddress.IPv4Address(rng.randint(0x0B000000, 0xDF000000))
        if address.is_global:
            return str(address)


def add_pii(good: GoodArticle, rng: random.Random) -> None:
    """Put emails, public and private IPs and phone numbers into an article, the way contact lines,
    tech write-ups and local news do."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES).replace("'", "")
    domain = good.site.domain.removeprefix("www.")
    email = f"{first.lower()}.{last.lower()}@{domain}"
    # Phone numbers from the ranges set aside for drama (Ofcom's 020 7946 0xxx, the US 555-01xx).
    uk_phone = f"+44 20 7946 0{rng.randint(100, 999)}"
    phone = rng.choice((uk_phone, f"(555) 01{rng.randint(0, 9)}-{rng.randint(1000, 9999)}"))
    private_ip = rng.choice(("192.168.1.", "192.168.0.", "10.0.0.")) + str(rng.randint(2, 250))
    fields = {
        "email": email,
        "phone": phone,
        "private_ip": private_ip,
        "domain": domain,
        "first": first,
        "last": last,
    }

    def fill(match: re.Match) -> str:  # a fresh public address at each {public_ip}, in reading order
        return public_ip(rng) if match.group(1) == "public_ip" else fields[match.group(1)]

    sentences = [SLOT_PATTERN.sub(fill, template) for template in PII_SENTENCES]
    rng.shuffle(sentences)
    good.article.blocks.insert(len(good.article.blocks) // 2, ("p", sentences[0]))
    good.article.blocks.append(("p", sentences[1]))
    good.page.category = "good_with_pii"
    good.page.html = render_good_article(good, rng)


def windows_1252_article(rng: random.Random) -> Page:
    """An English travel piece full of accented words, served as windows-1252 (not UTF-8), as many older
    sites still are. Only characters that windows-1252 and ISO-8859-1 share are used, so a charset
    detector that guesses either one decodes it right."""
    bank = WINDOWS_1252_ARTICLE
    article = Article(bank["title"], bank["author"], bank["published"])
    article.blocks = [(tag, " ".join(sentences)) for tag, sentences in bank["blocks"]]
    page_text = page_html(article.title, article_html(article), SITES[3].name, rng, charset="windows-1252")
    return Page(url=bank["url"], category="good_windows_1252", html=page_text, charset="windows-1252")


def exact_duplicate(good: GoodArticle, rng: random.Random) -> Page:
    """The same page at another URL: a tracking parameter, an AMP path or a mobile host."""
    url = good.page.url
    tracked, amp = f"{url}?utm_source=newsletter&utm_medium=email", f"{url.rstrip('/')}/amp/"
    url = rng.choice((tracked, amp, url.replace("://www.", "://m.")))
    return Page(url=url, category="exact_duplicate", html=good.page.html)


FIGURE_PATTERN = re.compile(r"\b\d{2,4}\b")


def near_duplicate(good: GoodArticle, rng: random.Random) -> Page:
    """The same article with a small edit (a new date, one more sentence, a correction) or republished
    by another site with that site's boilerplate."""
    copy = replace(good.article, blocks=list(good.article.blocks))
    edit = rng.choice(("date", "extra_sentence", "correction", "syndicated"))
    site = good.site
    if edit == "extra_sentence":
        index = rng.choice([i for i, (tag, _) in enumerate(copy.blocks) if tag == "p"])
        extra = fill_slots(rng.choice(GENERIC_SENTENCES), {}, rng)
        copy.blocks[index] = ("p", f"{copy.blocks[index][1]} {extra}")
    else:
        copy.blocks.append(("p", NEAR_DUPLICATE_NOTES[edit].format(site=good.site.name)))
    if edit == "date":
        copy.published = f"{rng.randint(1, 28)} {rng.choice(SHARED_SLOTS['month'])} 2024"
    if edit == "correction":  # the first figure in the text, corrected
        index = next((i for i, (_, text) in enumerate(copy.blocks) if FIGURE_PATTERN.search(text)), None)
        if index is not None:
            tag, text = copy.blocks[index]
            copy.blocks[index] = (
                tag,
                FIGURE_PATTERN.sub(lambda match: str(int(match.group()) + 10), text, count=1),
            )
    if edit == "syndicated":
        site = rng.choice([s for s in SITES if s != good.site])
    sidebar = tuple(fill_slots(rng.choice(t.titles), t.slots, rng) for t in rng.sample(TOPICS, k=3))
    page_text = page_html(copy.title, article_html(copy), site.name, rng, sidebar_titles=sidebar)
    url = article_url(site, copy, rng.randint(500, 900))
    if url == good.page.url:
        url = f"{url}?page=1"
    return Page(url=url, category="near_duplicate", html=page_text)


def duplicate_pages(originals: list[GoodArticle], rng: random.Random) -> list[Page]:
    # One copy per original at most: trafilatura's own de-duplication drops a paragraph on its fourth
    # sighting, and we want MinHash, not the extractor, to find these.
    exact, near = CATEGORY_COUNTS["exact_duplicate"], CATEGORY_COUNTS["near_duplicate"]
    sources = rng.sample(originals, k=exact + near)
    return [exact_duplicate(good, rng) for good in sources[:exact]] + [
        near_duplicate(good, rng) for good in sources[exact:]
    ]


def foreign_pages(rng: random.Random) -> list[Page]:
    pages = []
    languages = list(FOREIGN_LANGUAGES)
    for i in range(CATEGORY_COUNTS["foreign_language"]):
        lang = languages[i % len(languages)]
        bank = FOREIGN_LANGUAGES[lang]
        sentences = rng.sample(bank["sentences"], k=rng.randint(6, 9))
        cut = len(sentences) // 2
        title = rng.choice(bank["titles"])
        main = (
            f"<article><h1>{html.escape(title)}</h1><p>{html.escape(' '.join(sentences[:cut]))}</p>"
            f"<p>{html.escape(' '.join(sentences[cut:]))}</p></article>"
        )
        domain = bank["domains"][i % 2]
        site_name = domain.removeprefix("www.").split(".")[0].replace("-", " ").title()
        page_text = page_html(title, main, site_name, rng, lang=lang, nav=bank["nav"])
        url = f"https://{domain}/{slugify(title)}-{2400 + i}.html"
        pages.append(Page(url=url, category="foreign_language", html=page_text))
    return pages


def blocklisted_pages(rng: random.Random) -> list[Page]:
    pages = []
    for url in BLOCKLISTED_URLS:
        body = "".join(f"<p>{s}</p>" for s in rng.sample(BLOCKLISTED_BODY, k=4))
        main = f'<div class="promo"><h1>Special offers</h1>{body}<a href="/join">Join now</a></div>'
        page_text = page_html("Special offers", main, "Offers", rng)
        pages.append(Page(url=url, category="blocklisted_url", html=page_text))
    return pages


def fill_boilerplate(template: str, rng: random.Random) -> str:
    """A boilerplate body with its placeholders (video id, photos, product cards) filled in."""
    if "{number}" in template:
        return template.replace("{number}", str(rng.randint(10000, 99999)))
    if "{images}" in template:
        photos = (f'<figure><img src="/photos/{rng.randint(1000, 9999)}.jpg"></figure>' for _ in range(9))
        return template.replace("{images}", "".join(photos))
    if "{products}" in template:
        cards = (
            f'<div class="product"><img src="/img/p{n}.jpg" alt=""><span>{name}</span>'
            f'<span class="price">${rng.randint(12, 240)}.00</span><button>Add to cart</button></div>'
            for n, name in enumerate(rng.sample(PRODUCT_NAMES, k=8))
        )
        return template.replace("{products}", "".join(cards))
    return template


def boilerplate_pages(rng: random.Random) -> list[Page]:
    pages = []
    for i in range(CATEGORY_COUNTS["boilerplate_only"]):
        empty = i % 2 == 0
        main = fill_boilerplate((EMPTY_MAINS if empty else CHROME_MAINS)[(i // 2) % 4], rng)
        site = rng.choice(SITES)
        path = ("app", "account/login", "gallery", "consent", "watch", "shop", "map", "search")[i % 8]
        page_text = page_html("Welcome", main, site.name, rng, chrome="icons" if empty else "full")
        url = f"https://{site.domain}/{path}/{i + 1}"
        pages.append(Page(url=url, category="boilerplate_only", html=page_text))
    for i in range(CATEGORY_COUNTS["very_short"]):
        site = rng.choice(SITES)
        main = VERY_SHORT_MAINS[i % len(VERY_SHORT_MAINS)]
        page_text = page_html("Welcome", main, site.name, rng, chrome="none")
        url = f"https://{site.domain}/landing/{i + 1}"
        pages.append(Page(url=url, category="very_short", html=page_text))
    return pages


def simple_article_page(url: str, category: str, title: str, lines: list[str], rng: random.Random) -> Page:
    """A page whose <article> is a title and one paragraph per line, in ordinary site chrome."""
    body = "\n".join(f"<p>{html.escape(line)}</p>" for line in lines)
    main = f"<article><h1>{html.escape(title)}</h1>\n{body}\n</article>"
    return Page(url=url, category=category, html=page_html(title, main, "Daily Offers", rng))


def repetitive_pages(rng: random.Random) -> list[Page]:
    """Doorway pages: the same few lines over and over, and keyword soup (GopherRepetitionFilter)."""
    pages = []
    for i in range(CATEGORY_COUNTS["repetitive"]):
        service = fill_slots(rng.choice(SPAM_SERVICES), {}, rng)
        variants = (
            f"{service} at the lowest prices guaranteed.",
            f"Book {service.lower()} today and save more.",
            f"Compare {service.lower()} in one place.",
        )
        lines = [rng.choice(variants) for _ in range(rng.randint(14, 24))]
        url = f"https://www.{slugify(service)}-deals.com/page/{i + 1}"
        pages.append(simple_article_page(url, "repetitive", service, lines, rng))
    for i in range(CATEGORY_COUNTS["keyword_stuffed"]):
        service = fill_slots(rng.choice(SPAM_SERVICES), {}, rng).lower()
        words = []
        for _ in range(rng.randint(8, 12)):
            words += [service, rng.choice(("best", "cheap", "top", "online"))]
            words += [service, rng.choice(("deals", "offers", "near me", "today"))]
        stuffed = " ".join(words).capitalize() + "."
        lines = [f"Looking for {service}? You have come to the right place.", stuffed]
        url = f"https://{slugify(service)}.info/{i + 1}"
        pages.append(simple_article_page(url, "keyword_stuffed", service.capitalize(), lines, rng))
    return pages


def low_quality_pages(rng: random.Random) -> list[Page]:
    """Pages GopherQualityFilter rejects: too few words, hashtag soup, ellipsis teasers, tables of numbers."""
    pages = []
    for i in range(CATEGORY_COUNTS["low_quality"]):
        kind = i % 4
        city = rng.choice(SHARED_SLOTS["city"])
        if kind == 0:  # fewer than 50 words (but long enough that trafilatura does not fall back)
            title = "Notice to customers"
            lines = [
                f"Please note that our {city} showroom will be closed on {rng.choice(SHARED_SLOTS['weekday'])} for essential maintenance and staff training.",
                f"Collections and deliveries booked for that {rng.choice(('morning', 'afternoon', 'day'))} will be rearranged automatically, and affected customers will receive a message.",
                "We apologise for any inconvenience.",
            ]
        elif kind == 1:  # more than one '#' per ten words
            title = f"Evening in {city}"
            tags = rng.sample(HASHTAGS, k=14)
            lines = [
                f"What a beautiful evening in {city} with the best people and the best food in town.",
                "We walked for hours and ended the day watching the sun go down over the water.",
                " ".join(tags),
                " ".join(rng.sample(tags, k=10)),
            ]
        elif kind == 2:  # teasers cut off with an ellipsis
            title = "Latest stories"
            topic = rng.choice(TOPICS)
            sentences = [fill_slots(t, topic.slots, rng) for t in rng.sample(topic.sentences, 10)]
            lines = [sentence.rsplit(" ", 6)[0] + "..." for sentence in sentences]
        else:  # a results table: mostly numbers
            title = "League table"
            lines = ["Results for the season so far are listed below."] + [
                " ".join(str(rng.randint(0, 99)) for _ in range(7)) for _ in range(12)
            ]
        site = rng.choice(SITES)
        url = f"https://{site.domain}/updates/{slugify(title)}-{i + 1}"
        pages.append(simple_article_page(url, "low_quality", title, lines, rng))
    return pages


def c4_pages(rng: random.Random) -> list[Page]:
    """Pages C4QualityFilter rejects: a theme's lorem ipsum left in place, code with curly brackets,
    fewer than five sentences."""
    pages = []
    for i in range(CATEGORY_COUNTS["lorem_ipsum"]):
        topic = rng.choice(TOPICS)
        lines = [fill_slots(t, topic.slots, rng) for t in rng.sample(topic.sentences, k=6)]
        lorem = "Lorem ipsum " + " ".join(rng.choice(LOREM_WORDS) for _ in range(rng.randint(14, 20))) + "."
        lines.insert(rng.randint(1, 5), lorem)  # different on every page, or trafilatura drops it as repeated
        site = rng.choice(SITES)
        url = f"https://{site.domain}/draft/sample-page-{i + 1}/"
        pages.append(simple_article_page(url, "lorem_ipsum", "Sample page", lines, rng))
    for i in range(CATEGORY_COUNTS["code_like"]):
        topic = next(t for t in TOPICS if t.name == "programming")
        lines = [fill_slots(t, topic.slots, rng) for t in rng.sample(topic.sentences, k=6)]
        word = rng.choice(CODE_WORDS)
        number, ms = rng.randint(2, 99), rng.randint(100, 5000)
        snippet = rng.choice(CODE_SNIPPETS).format(word=word, Word=word.title(), number=number, ms=ms)
        lines.insert(rng.randint(1, 5), f"The whole thing fits on one line: {snippet}")
        url = f"https://www.quietbuildlog.dev/snippets/{i + 1}-small-interactive-pages.html"
        pages.append(simple_article_page(url, "code_like", "Small interactive pages", lines, rng))
    for i in range(CATEGORY_COUNTS["few_sentences"]):
        topic = rng.choice(TOPICS)
        text = " ".join(fill_slots(t, topic.slots, rng) for t in rng.sample(topic.sentences, k=3))
        site = rng.choice(SITES)
        title = fill_slots(rng.choice(topic.titles), topic.slots, rng)
        url = f"https://{site.domain}/short/{i + 1}"
        pages.append(simple_article_page(url, "few_sentences", title, [text], rng))
    return pages


def fineweb_pages(rng: random.Random) -> list[Page]:
    """Pages FineWebQualityFilter rejects: listings whose lines lack punctuation, verse (short lines),
    and articles whose 'continue reading' lines repeat (characters in duplicated lines)."""
    pages = []
    for i in range(CATEGORY_COUNTS["list_like"]):
        city = rng.choice(SHARED_SLOTS["city"])
        site = rng.choice(SITES)
        title, items = f"{city} weekend market", rng.sample(MARKET_STALLS, k=rng.randint(12, 16))
        intro = f"Here is who you will find at the {city} weekend market this month."
        headings = ("Stalls on the main square", "Stalls along the river path")
        half = len(items) // 2
        body = f"<p>{html.escape(intro)}</p>\n" + "".join(
            f"<h2>{h}</h2>\n<ul>{''.join(f'<li>{item}</li>' for item in part)}</ul>\n"
            for h, part in zip(headings, (items[:half], items[half:]), strict=True)
        )
        main = f"<article><h1>{html.escape(title)}</h1>\n{body}</article>"
        url = f"https://{site.domain}/whats-on/{slugify(title)}-{i + 1}"
        pages.append(Page(url=url, category="list_like", html=page_html(title, main, site.name, rng)))
    for i in range(CATEGORY_COUNTS["verse"]):
        poems = rng.sample(POEMS, k=2)
        stanzas = "".join(f"<p>{'<br>'.join(poem[:4])}</p><p>{'<br>'.join(poem[4:])}</p>" for poem in poems)
        main = f"<article><h1>Two poems for a quiet evening</h1>{stanzas}</article>"
        url = f"https://www.oldtownrecords.org/readers/poems-{i + 1}.html"
        pages.append(Page(url=url, category="verse", html=page_html("Two poems", main, SITES[7].name, rng)))
    for i in range(CATEGORY_COUNTS["duplicated_lines"]):
        site = TOPIC_SITES[i * 3 % len(TOPIC_SITES)]
        article = write_article(next(t for t in TOPICS if t.name == site.topic), rng, 500)
        for line in rng.sample(DUPLICATED_LINES, k=2):
            for _ in range(2):
                article.blocks.insert(rng.randint(1, len(article.blocks)), ("p", line))
        page_text = page_html(article.title, article_html(article), site.name, rng)
        url = article_url(site, article, 2000 + i)
        pages.append(Page(url=url, category="duplicated_lines", html=page_text))
    return pages


# ---------------------------------------------------------------------------------------------------
# All pages, then the WARC file.
# ---------------------------------------------------------------------------------------------------


def sample_pages(seed: int = 0) -> list[Page]:
    """Every HTML page of the sample, in crawl order (shuffled, as a crawl interleaves sites)."""
    rng = random.Random(seed)
    good_count = CATEGORY_COUNTS["good"] + CATEGORY_COUNTS["good_with_pii"]
    good = [make_good_article(rng, serial) for serial in range(good_count)]
    for article in good[CATEGORY_COUNTS["good"] :]:
        add_pii(article, rng)
    pages = [g.page for g in good]
    pages.append(windows_1252_article(rng))
    pages += duplicate_pages(good[: CATEGORY_COUNTS["good"]], rng)
    pages += foreign_pages(rng)
    pages += blocklisted_pages(rng)
    pages += boilerplate_pages(rng)
    pages += repetitive_pages(rng)
    pages += low_quality_pages(rng)
    pages += c4_pages(rng)
    pages += fineweb_pages(rng)
    make_urls_unique(pages)
    rng.shuffle(pages)
    # A few pages without a payload type, as in older crawls: the reader has to sniff the bytes.
    for page in rng.sample([p for p in pages if p.category == "good"], k=2):
        page.sniff = True
    return pages


def make_urls_unique(pages: list[Page]) -> None:
    """Two generated articles can get the same title, hence the same URL: number the later ones, as
    content systems do."""
    seen: Counter[str] = Counter()
    for page in pages:
        seen[page.url] += 1
        if seen[page.url] > 1:
            number, slash = seen[page.url], "/" if page.url.endswith("/") else ""
            is_html = page.url.endswith(".html")
            stem, dot, extension = page.url.rpartition(".") if is_html else (page.url.rstrip("/"), "", "")
            page.url = f"{stem}-{number}{dot}{extension}{slash}"


def tiny_png() -> bytes:
    """An 8x8 grey PNG, built by hand so no image library is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = b"".join(b"\x00" + bytes([128]) * 8 for _ in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0)
    image = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixels, 9)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + image


def tiny_pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def host_ip(url: str) -> str:
    """The server address a crawler would record for the URL's host (made up, stable)."""
    digest = hashlib.sha256(url.split("/")[2].encode()).digest()
    return f"{52 + digest[0] % 100}.{digest[1]}.{digest[2]}.{1 + digest[3] % 250}"


class SampleWarcWriter:
    """Writes records whose ids and dates come from the seed and the record's position, never from the
    clock or a random uuid, so the file is the same bytes every time."""

    def __init__(self, stream: BinaryIO, seed: int, part: str = "") -> None:
        self.writer = WARCWriter(stream, gzip=True, warc_version="WARC/1.0")
        self.seed = seed
        self.part = part  # ids of the parts of a split sample must differ
        self.serial = 0
        self.warcinfo_id = ""

    def next_id(self) -> str:
        self.serial += 1
        digest = hashlib.sha256(f"finemill-sample:{self.seed}{self.part}:{self.serial}".encode()).digest()
        return f"<urn:uuid:{uuid.UUID(bytes=digest[:16], version=4)}>"

    def warc_date(self) -> datetime:
        return CRAWL_START + timedelta(seconds=7 * self.serial)

    def write(self, record_type: str, url: str, payload: bytes, headers: dict[str, str], **kwargs) -> str:
        record_id = self.next_id()
        warc_date = self.warc_date().strftime("%Y-%m-%dT%H:%M:%SZ")
        warc_headers = {"WARC-Record-ID": record_id, "WARC-Date": warc_date}
        if self.warcinfo_id:
            warc_headers["WARC-Warcinfo-ID"] = self.warcinfo_id
        record = self.writer.create_warc_record(
            url,
            record_type,
            payload=io.BytesIO(payload),
            length=len(payload),
            warc_headers_dict={**warc_headers, **headers},
            **kwargs,
        )
        self.writer.write_record(record)
        return record_id

    def warcinfo(self, filename: str) -> None:
        info = (
            "software: finemill sample generator (warcio)\r\nformat: WARC File Format 1.0\r\n"
            f"description: synthetic sample crawl, seed {self.seed}\r\nisPartOf: FINEMILL-SAMPLE\r\n"
            "operator: finemill\r\n"
        ).encode()
        headers = {"WARC-Filename": filename}
        self.warcinfo_id = self.write("warcinfo", "", info, headers, warc_content_type=WARC_FIELDS)

    def request(self, url: str) -> None:
        host, _, path = url.removeprefix("https://").partition("/")
        payload = (
            f"GET /{path} HTTP/1.1\r\nUser-Agent: {CRAWLER_USER_AGENT}\r\n"
            "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
            f"Accept-Language: en-US,en;q=0.5\r\nHost: {host}\r\nConnection: Keep-Alive\r\n\r\n"
        ).encode()
        self.write("request", url, payload, {"WARC-IP-Address": host_ip(url)})

    def response(self, url: str, payload: bytes, content_type: str, payload_type: str | None) -> str:
        http_headers = StatusAndHeaders(
            "200 OK",
            [
                ("Date", self.warc_date().strftime("%a, %d %b %Y %H:%M:%S GMT")),
                ("Server", SERVERS[hashlib.sha256(url.encode()).digest()[0] % len(SERVERS)]),
                ("Content-Type", content_type),
                ("Content-Length", str(len(payload))),
                ("Cache-Control", "max-age=600"),
                ("Connection", "close"),
            ],
            protocol="HTTP/1.1",
        )
        headers = {"WARC-IP-Address": host_ip(url)}
        if payload_type:  # Common Crawl's own sniffing result
            headers["WARC-Identified-Payload-Type"] = payload_type
        return self.write("response", url, payload, headers, http_headers=http_headers)

    def metadata(self, url: str, response_id: str) -> None:
        payload = f"fetchTimeMs: {100 + self.serial % 400}\r\ncharset-detected: UTF-8\r\n".encode()
        headers = {"WARC-Concurrent-To": response_id}
        self.write("metadata", url, payload, headers, warc_content_type=WARC_FIELDS)


def write_sample_warc(path: str | Path, seed: int = 0, part: int = 0, parts: int = 1) -> dict:
    """Write the sample crawl to `path` (WARC/1.0, gzip per record) and return how many pages of each
    category the whole sample holds (see the module docstring). Same seed, same bytes.

    With `parts` > 1 the file holds only every `parts`-th page starting at `part`: the sample split into
    several files, so that a run of it has one task per file to spread over workers."""
    pages = sample_pages(seed)
    path = Path(path)
    part_label = f"-{part}-of-{parts}" if parts > 1 else ""
    with path.open("wb") as stream:
        warc = SampleWarcWriter(stream, seed, part_label)
        warc.warcinfo(f"finemill-sample-{seed:05d}{part_label}.warc.gz")  # not path.name: same bytes anywhere
        for index, page in enumerate(pages):
            if index % parts != part:
                continue
            # Common Crawl stores request, response and metadata for every page; a few of each will do.
            with_neighbours = index % 60 == 0
            if with_neighbours:
                warc.request(page.url)
            charset = "UTF-8" if page.charset == "utf-8" else page.charset
            payload_type = None if page.sniff else "text/html"
            payload, content_type = page.html.encode(page.charset), f"text/html; charset={charset}"
            response_id = warc.response(page.url, payload, content_type, payload_type)
            if with_neighbours:
                warc.metadata(page.url, response_id)
            if index == len(pages) // 3:
                url = f"https://{SITES[0].domain}/static/img/logo.png"
                warc.response(url, tiny_png(), "image/png", "image/png")
            if index == 2 * len(pages) // 3:  # no payload type here either: sniffing must say PDF
                url = f"https://{SITES[18].domain}/files/council-minutes.pdf"
                warc.response(url, tiny_pdf(), "application/pdf", None)
    counts = Counter(page.category for page in pages)
    counts["non_html"] = 2
    return {category: counts[category] for category in (*CATEGORY_COUNTS, "non_html")}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (1, 2):
        print("usage: python -m finemill.demo.crawl OUT.warc.gz [SEED]", file=sys.stderr)
        return 2
    summary = write_sample_warc(argv[0], seed=int(argv[1]) if len(argv) == 2 else 0)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
