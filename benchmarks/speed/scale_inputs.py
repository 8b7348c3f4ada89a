"""Crawl-like inputs of N documents for the cost curve (speed/scale.py), built from the real pages of
../shared/data and streamed to disk, so building 1M documents takes no more memory than building 1,000.

    python -m benchmarks.speed.scale_inputs OUT_FOLDER --documents 10000 --format jsonl

Sources: the English pages of the extraction set's ground truth (their main text) and of the pre-extracted
Common Crawl excerpt, cut into paragraphs; only the paragraphs the recipe's language model reads as English
are used, each once (boilerplate repeated across pages belongs to the first). A page with fewer than two such
paragraphs is left out, so no document can hold a whole page.

- A unique document joins 6-11 single paragraphs drawn from the whole pool, each from a different page,
  in random order: real sentences, a combination no page has, never all of a page's paragraphs. No
  paragraph is more than MAX_SHARE of the document's words, so two documents that happen to share a
  paragraph or two stay far below MinHash's threshold: with ~4,800 paragraphs, chance near-duplicates
  are rare even at 1M documents (`python -m benchmarks.speed.scale` counts the removals outside planted
  pairs). Runs of consecutive paragraphs of the same pages (the first version) gave too small a pool:
  3.4% of 100K documents were removed as chance duplicates.
- `--mix sentences` builds each paragraph of a unique document from 2 or more sentences drawn from the
  whole pool instead (as many as a real paragraph drawn at random has, at least 2), so paragraphs almost
  never recur across documents. With whole paragraphs, each of the ~4,800 pool paragraphs recurs every ~570
  documents, and FineWeb's extraction (trafilatura's `deduplicate`: a text segment seen three times within
  its 4,096-entry cache is dropped) drops more of each page the larger N is, unlike on a crawl, whose
  content paragraphs rarely recur. Sentences are not segments, so with this mix the WARC curve keeps its
  text at every N.
- A planted near-duplicate (a `--duplicates` share of the documents) is a recent unique document after
  1-3 realistic edits: a few words changed, a paragraph dropped, a paragraph moved, boilerplate added. It
  has its own record id and URL, as a crawl's mirrored or re-crawled page has.
- Documents go round-robin into `--files` files, so the tasks of a run spread over them and a duplicate is
  usually in another file than its original.

Both formats hold the same documents: `jsonl` (pre-extracted: id, url, date, text; gzip JSON lines) and
`warc` (WARC response records whose HTML carries the paragraphs in an article, with navigation and a footer
around it, so extraction has real work). Everything comes from `--seed`: the same arguments give the same
bytes of text. `planted.jsonl` beside the files lists each planted duplicate with its original's id.
"""

from __future__ import annotations

import argparse
import gzip
import html
import io
import itertools
import json
import random
import re
import sys
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import SHARED_DATA

GROUND_TRUTH = SHARED_DATA / "extraction" / "aeb_ground_truth.json"
EXTRACTED_CRAWL = SHARED_DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"
PLANTED_FILE = "planted.jsonl"
MIN_PARAGRAPH, MAX_PARAGRAPH = 60, 3000  # characters: leaves out menus, captions and giant tables
ENGLISH_SCORE = 0.8  # above the recipe's language threshold (0.65), so a mix of them stays English
PARAGRAPHS = (6, 11)  # paragraphs per unique document: ~8.5 on average, as the first version's runs gave
MAX_SHARE = 0.25  # of a unique document's words in one paragraph
RECENT_ORIGINALS = 2000  # how far back a duplicate's original may be (bounded: memory independent of N)
BOILERPLATE = (
    "Share this article on social media and subscribe to our newsletter for more stories like this one.",
    "We use cookies to improve your experience on our site. By continuing to browse you accept our policy.",
    "Related articles: see more from this section, or browse the archive for earlier posts on this topic.",
    "All rights reserved. Reproduction of this material without written permission is prohibited.",
)
DATE = "2024-08-10T12:00:00Z"
# A sentence ends at . ! or ? (or one of them and a closing quote or bracket), then a space and a capital or digit.
SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'\u201d\u2019)\]]))\s+(?=[\"\u201c(\[]?[A-Z0-9])")
MIN_SENTENCE, MAX_SENTENCE = 25, 400  # characters: leaves out fragments and run-on lists
# A whole sentence as SENTENCE_END cuts them (not a heading or a fragment), so the joined paragraphs of
# --mix sentences split back into exactly the sentences they were made of.
WHOLE_SENTENCE = re.compile(r"[\"\u201c(\[]?[A-Z0-9].*[.!?][\"'\u201d\u2019)\]]?", re.DOTALL)


@dataclass(frozen=True)
class Page:
    url: str
    paragraphs: tuple[str, ...]


@dataclass
class Document:
    id: str
    url: str
    paragraphs: list[str]
    original: str | None = None  # the id of the unique document a planted duplicate was made from

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def _english(paragraphs: list[str]) -> list[str]:
    """The paragraphs the recipe's language model reads as English (a document of mixed languages would
    stop at the language filter, and MinHash would see little)."""
    from finemill.steps.filters.language import find_lid_model, load_fasttext

    model = load_fasttext(find_lid_model())
    kept = []
    for paragraph in paragraphs:
        labels, scores = model.predict(paragraph.replace("\n", " "))
        if labels[0] == "__label__en" and scores[0] >= ENGLISH_SCORE:
            kept.append(paragraph)
    return kept


def _page(url: str, text: str, unused: set[str]) -> Page | None:
    """The page's paragraphs still in `unused` (taken from it: a paragraph belongs to one page only, so a
    document holds all of a page's paragraphs only if it copied that page)."""
    paragraphs = []
    for paragraph in (p.strip() for p in text.split("\n")):
        if paragraph in unused:
            unused.discard(paragraph)
            paragraphs.append(paragraph)
    return Page(url, tuple(paragraphs)) if len(paragraphs) >= 2 else None


def source_pages() -> list[Page]:
    """The real pages the documents are cut from, in a fixed order."""
    texts = [(v.get("url", ""), v["articleBody"]) for v in json.loads(GROUND_TRUTH.read_text()).values()]
    with gzip.open(EXTRACTED_CRAWL, "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record.get("text"):
                texts.append(((record.get("metadata") or {}).get("url", ""), record["text"]))
    paragraphs = [p.strip() for _, text in texts for p in text.split("\n")]
    unused = set(_english([p for p in paragraphs if MIN_PARAGRAPH <= len(p) <= MAX_PARAGRAPH]))
    pages = [_page(url, text, unused) for url, text in texts]  # in order: `unused` shrinks page by page
    return [page for page in pages if page is not None]


def _host(url: str, rng: random.Random) -> str:
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return host if "." in host else f"site{rng.randrange(10_000)}.example.org"


@dataclass(frozen=True)
class Pool:
    """Every page's paragraphs as one list, each with its page's index (a document takes one per page)."""

    pages: list[Page]
    paragraphs: list[str]
    page_of: list[int]
    words: list[int]

    @classmethod
    def of(cls, pages: list[Page]) -> Pool:
        pairs = [(p, i) for i, page in enumerate(pages) for p in page.paragraphs]
        return cls(pages, [p for p, _ in pairs], [i for _, i in pairs], [len(p.split()) for p, _ in pairs])

    @property
    def summary(self) -> str:
        return f"{len(self.paragraphs):,} paragraphs"

    def draw(self, rng: random.Random) -> tuple[Page, list[str]]:
        """The page whose host names the document, and the document's paragraphs."""
        picks = _paragraph_picks(self, rng)
        return self.pages[self.page_of[picks[0]]], [self.paragraphs[i] for i in picks]


@dataclass(frozen=True)
class SentencePool:
    """Every pool paragraph's sentences as one list, and the paragraphs' lengths in sentences (a new
    paragraph takes a real one's length, at least 2: a lone sentence would recur as a segment)."""

    pages: list[Page]
    sentences: list[str]
    page_of: list[int]
    shapes: list[int]

    @classmethod
    def of(cls, pages: list[Page]) -> SentencePool:
        page_of: dict[str, int] = {}  # each sentence and the first page it is on (kept once)
        shapes = []
        for index, page in enumerate(pages):
            for paragraph in page.paragraphs:
                split = [s.strip() for s in SENTENCE_END.split(paragraph)]
                shapes.append(max(len(split), 2))
                for sentence in split:
                    if MIN_SENTENCE <= len(sentence) <= MAX_SENTENCE and WHOLE_SENTENCE.fullmatch(sentence):
                        page_of.setdefault(sentence, index)
        return cls(pages, list(page_of), list(page_of.values()), shapes)

    @property
    def summary(self) -> str:
        return f"{len(self.sentences):,} sentences"

    def draw(self, rng: random.Random) -> tuple[Page, list[str]]:
        """6-11 paragraphs of real paragraphs' lengths, their sentences all different, none over MAX_SHARE
        of the document's words (drawn again until it fits, up to 50 tries)."""
        shapes = [rng.choice(self.shapes) for _ in range(rng.randint(*PARAGRAPHS))]
        for _ in range(50):
            picks = rng.sample(range(len(self.sentences)), sum(shapes))  # no sentence twice in a document
            words = [len(self.sentences[i].split()) for i in picks]
            if max(words) <= MAX_SHARE * sum(words):
                break
        drawn = iter(picks)
        paragraphs = [" ".join(self.sentences[i] for i in itertools.islice(drawn, shape)) for shape in shapes]
        return self.pages[self.page_of[picks[0]]], paragraphs


def _paragraph_picks(pool: Pool, rng: random.Random) -> list[int]:
    """6-11 paragraphs of as many pages, none over MAX_SHARE of their words (the longest is swapped for
    another draw until it fits, up to 50 tries: long paragraphs are the exception)."""
    picks = rng.sample(range(len(pool.paragraphs)), rng.randint(*PARAGRAPHS))
    for tries in itertools.count():
        pages = [pool.page_of[i] for i in picks]
        longest = max(picks, key=pool.words.__getitem__)
        fits = pool.words[longest] <= MAX_SHARE * sum(pool.words[i] for i in picks)
        if len(set(pages)) == len(picks) and (fits or tries >= 50):  # one page each, always
            break
        clash = next((i for i in picks if pages.count(pool.page_of[i]) > 1), longest)
        picks[picks.index(clash)] = rng.randrange(len(pool.paragraphs))
    return picks


POOLS = {"paragraphs": Pool.of, "sentences": SentencePool.of}  # --mix: what a unique document recombines


def _unique(pool: Pool | SentencePool, rng: random.Random, number: int) -> Document:
    first, paragraphs = pool.draw(rng)
    url = f"https://{_host(first.url, rng)}/articles/{number:08d}-{rng.getrandbits(32):08x}"
    return Document(str(uuid.UUID(int=rng.getrandbits(128))), url, paragraphs)


def _change_words(paragraphs: list[str], rng: random.Random, donor: str) -> None:
    index = rng.randrange(len(paragraphs))
    words, spare = paragraphs[index].split(" "), donor.split(" ")
    for _ in range(rng.randint(2, 5)):
        words[rng.randrange(len(words))] = rng.choice(spare)
    paragraphs[index] = " ".join(words)


def _near_duplicate(original: Document, rng: random.Random, donor: str, number: int) -> Document:
    paragraphs = list(original.paragraphs)
    for edit in rng.sample(("words", "drop", "move", "boilerplate"), rng.randint(1, 3)):
        if edit == "words":
            _change_words(paragraphs, rng, donor)
        elif edit == "drop" and len(paragraphs) >= 4:
            paragraphs.pop(rng.randrange(len(paragraphs)))
        elif edit == "move" and len(paragraphs) >= 2:
            paragraphs.insert(rng.randrange(len(paragraphs)), paragraphs.pop(rng.randrange(len(paragraphs))))
        elif edit == "boilerplate":
            paragraphs.append(rng.choice(BOILERPLATE))
    if paragraphs == original.paragraphs:  # the edits happened to undo themselves (a move to the same place)
        paragraphs.append(rng.choice(BOILERPLATE))
    host = original.url.split("/")[2]
    url = f"https://mirror.{host}/copy/{number:08d}-{rng.getrandbits(32):08x}"
    return Document(str(uuid.UUID(int=rng.getrandbits(128))), url, paragraphs, original.id)


def documents(
    count: int, duplicate_share: float, seed: int, pages: list[Page], mix: str = "paragraphs"
) -> Iterator[Document]:
    """`count` documents, a `duplicate_share` of them planted near-duplicates of recent unique ones;
    `mix`: a key of POOLS."""
    rng, pool = random.Random(seed), POOLS[mix](pages)
    recent: deque[Document] = deque(maxlen=RECENT_ORIGINALS)
    for number in range(count):
        if recent and rng.random() < duplicate_share:
            donor = rng.choice(rng.choice(pages).paragraphs)
            yield _near_duplicate(rng.choice(recent), rng, donor, number)
        else:
            document = _unique(pool, rng, number)
            recent.append(document)
            yield document


def page_html(document: Document) -> bytes:
    """The document's paragraphs in an article, with navigation and a footer around it."""
    title = html.escape(document.paragraphs[0][:70])
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in document.paragraphs)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head><body>"
        "<header><nav><a href='/'>Home</a> | <a href='/news'>News</a> | <a href='/about'>About</a></nav>"
        f"</header><main><article><h1>{title}</h1>\n{body}</article></main>"
        "<footer><p>Contact | Privacy | Terms</p></footer></body></html>"
    ).encode()


def warc_record(document: Document) -> bytes:
    """One WARC response record holding page_html(document)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
    headers = {"WARC-Record-ID": f"<urn:uuid:{document.id}>", "WARC-Date": DATE}
    record = writer.create_warc_record(
        document.url,
        "response",
        payload=io.BytesIO(page_html(document)),
        http_headers=http,
        warc_headers_dict=headers,
    )
    writer.write_record(record)
    return buffer.getvalue()


def jsonl_line(document: Document) -> bytes:
    record = {"id": document.id, "url": document.url, "date": DATE, "text": document.text}
    return (json.dumps(record, ensure_ascii=False) + "\n").encode()


MIX_HELP = "what unique documents recombine: whole paragraphs, or paragraphs made of sentences"


def build(
    folder: Path,
    count: int,
    fmt: str,
    files: int,
    duplicate_share: float,
    seed: int,
    pages: list[Page] | None = None,
    mix: str = "paragraphs",
) -> dict:
    """Write the documents into `files` files under folder/input and the planted list beside them;
    returns what was written (counts and paths). `pages`: source_pages(), when the caller has them."""
    if fmt not in ("jsonl", "warc"):
        raise ValueError(f"format {fmt!r}: jsonl or warc")
    inputs = folder / "input"
    inputs.mkdir(parents=True, exist_ok=True)
    suffix = ".jsonl.gz" if fmt == "jsonl" else ".warc.gz"
    paths = [inputs / f"scale-{i:05d}{suffix}" for i in range(files)]
    outputs = [gzip.open(p, "wb") if fmt == "jsonl" else open(p, "wb") for p in paths]  # noqa: SIM115
    encode = jsonl_line if fmt == "jsonl" else warc_record
    planted = 0
    try:
        with open(folder / PLANTED_FILE, "w", encoding="utf-8") as planted_file:
            for number, document in enumerate(
                documents(count, duplicate_share, seed, pages or source_pages(), mix)
            ):
                outputs[number % files].write(encode(document))
                if document.original is not None:
                    planted += 1
                    planted_file.write(json.dumps({"id": document.id, "original": document.original}) + "\n")
    finally:
        for output in outputs:
            output.close()
    return {"documents": count, "planted": planted, "files": [str(p) for p in paths]}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--format", choices=("jsonl", "warc"), default="jsonl")
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--duplicates", type=float, default=0.1, help="planted near-duplicate share")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mix", choices=tuple(POOLS), default="paragraphs", help=MIX_HELP)
    args = parser.parse_args()
    built = build(
        args.folder, args.documents, args.format, args.files, args.duplicates, args.seed, mix=args.mix
    )
    print(f"{built['documents']:,} documents in {len(built['files'])} files, {built['planted']:,} planted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
