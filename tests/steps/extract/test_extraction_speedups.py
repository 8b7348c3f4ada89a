"""finemill's readability steps change trees as trafilatura's readability does, its skipped tree copies are
not missed, and trafilatura's text does not change on real pages (the extraction benchmark and the crawl
files) nor on the bundled sample."""

from __future__ import annotations

import contextlib
import warnings
from copy import deepcopy

import pytest
from lxml import etree

from finemill.patches import PatchSkipped
from finemill.steps.extract.patches import (
    compiled_xpaths,
    fast_readability,
    fast_text_helpers,
    fewer_tree_copies,
    trafilatura_text_helpers,
    trafilatura_tree_copies,
)
from finemill.steps.extract.patches import trafilatura_readability as patch
from tests.conftest import QUICK_AND_REST, part_of, shared_file
from tests.steps.extract.test_fast_xpath import extract_all

# The corners of each step: tags that begin like a block tag (abbr, article), a block tag deep down, a
# namespaced-looking tag, text and tails to move into <p>s, <br>s, ids and classes that readability drops
# or keeps (body, "main"), an unlikely element inside another.
EDGE_HTML = """<html><body class="sidebar"><div id="menu" class="x"><div class="comment-body main">keep</div>
<span class="comment">gone <b class="footer">inner</b></span> tail</div>
<div>text <abbr>abbr</abbr> more<br/>after br<br></div><div><span><span><img src="x"/></span></span></div>
<div><span>no block</span> tail <em>x</em></div><div><svg:a>namespaced</svg:a></div>
<div><article>art</article></div><div id="a" class="b">ab</div><div class="">   </div></body></html>"""


def readability_trees(html_pages: list[str]) -> list[bytes]:
    """Each page's tree after the two steps (serialized), and after readability's whole `summary`."""
    from trafilatura.readability_lxml import Document
    from trafilatura.utils import load_html

    out = []
    for page in html_pages:
        tree = load_html(page)
        if tree is None:
            continue
        document = Document(deepcopy(tree))
        document.remove_unlikely_candidates()
        document.transform_misused_divs_into_paragraphs()
        out.append(etree.tostring(document.doc))
        out.append(Document(deepcopy(tree)).summary().encode())
    return out


def same_trees(html_pages: list[str]) -> int:
    expected = readability_trees(html_pages)
    with fast_readability() as active:
        assert active
        got = readability_trees(html_pages)
    differing = [i // 2 for i, (a, b) in enumerate(zip(expected, got, strict=True)) if a != b]
    assert not differing, f"{len(differing)} trees differ, first pages: {differing[:5]}"
    return len(expected)


def test_edge_cases_give_readabilitys_trees():
    assert same_trees([EDGE_HTML]) == 2
    with fast_readability():
        from trafilatura.readability_lxml import Document
        from trafilatura.utils import load_html

        document = Document(load_html(EDGE_HTML))
        document.remove_unlikely_candidates()
        document.transform_misused_divs_into_paragraphs()
    doc = document.doc
    assert doc.find(".//*[@id='menu']") is None and "keep" not in etree.tostring(
        doc, encoding=str
    )  # unlikely
    assert doc.find("body").get("class") == "sidebar"  # <body> is never dropped
    # readability searches the XML text for "<a": an <abbr> matches it, so its div stays a div
    assert doc.find(".//abbr").getparent().tag == "div"
    assert doc.find(".//img").getparent().getparent().getparent().tag == "div"  # a block tag deep down
    assert doc.find(".//em").getparent().tag == "p" and doc.find(".//*[@id='a']").tag == "p"  # no block tag
    assert [p.text for p in doc.find(".//abbr").getparent().iter("p")] == ["text ", " more", "after br"]


def test_only_within_the_block():
    from trafilatura.readability_lxml import Document

    before = Document.remove_unlikely_candidates
    with fast_readability():
        assert Document.remove_unlikely_candidates is not before
        with fast_readability() as again:  # nested: still in place inside, restored once outside
            assert again
        assert Document.remove_unlikely_candidates is not before
    assert Document.remove_unlikely_candidates is before


def test_a_changed_target_is_left_as_installed(monkeypatch):
    from trafilatura import readability_lxml

    monkeypatch.setitem(readability_lxml.REGEXES, "divToPElementsRe", etree.XPath("//x"))
    patch._swap.cache_clear()
    try:
        with pytest.warns(PatchSkipped, match="divToPElementsRe"), fast_readability() as active:
            assert not active
    finally:
        patch._swap.cache_clear()
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fast_readability() as active:
            assert active


def test_extract_step_setting(monkeypatch):
    """`fast_readability: false` leaves readability as installed; the default swaps the steps in per call."""
    from trafilatura.readability_lxml import Document

    from finemill.steps.extract.trafilatura import TrafilaturaExtractor

    seen = []
    monkeypatch.setattr(
        "trafilatura.extract", lambda *a, **k: seen.append(Document.remove_unlikely_candidates)
    )
    TrafilaturaExtractor().extract("<html></html>")
    TrafilaturaExtractor(fast_readability=False).extract("<html></html>")
    assert seen[0].__name__ == "UnlikelyCandidates" and seen[1].__name__ == "remove_unlikely_candidates"


# ------------------------------------------------------------------ real pages: same trees, same text


REAL_PAGES = "extraction/real_pages_aeb_trafilatura.warc.gz"
CRAWL_FILES = [
    "CC-MAIN-2020-34-excerpt.warc.gz",
    "CC-2008-2009-arc-samples.warc.gz",
    "sample-0000.warc.gz",
    "sample-0001.warc.gz",
    "heritrix-2008-mixed-content.warc.gz",
    "whirlwind.warc.gz",
]
# The suite checks the speed-ups, one at a time, two together and all at once, on every SPREAD-th page of
# each page set; `-m every_item` checks all of them at once on every page of the sets.
SPREAD = 12


def warc_pages(relative: str) -> list[str]:
    from datatrove.pipeline.readers import WarcReader

    warc = shared_file(relative)
    return [doc.text for doc in WarcReader(str(warc.parent), glob_pattern=warc.name).run()]


@pytest.fixture(scope="module")
def real_pages() -> list[str]:
    """The 1,165 pages of the extraction benchmark, read once for the module."""
    return warc_pages(REAL_PAGES)


@pytest.fixture(scope="module")
def crawl_pages() -> list[str]:
    """The 316 pages of the crawl files, read once for the module."""
    return [page for name in CRAWL_FILES for page in warc_pages(f"crawl/{name}")]


@pytest.fixture(scope="module")
def crawl_reference(crawl_pages: list[str]) -> tuple[list[str], list[str | None]]:
    """Every SPREAD-th crawl page and their texts as installed, extracted once for the module."""
    pages = part_of(crawl_pages, "quick", SPREAD)
    return pages, extract_all(pages)


@pytest.fixture(scope="module")
def real_reference(real_pages: list[str]) -> tuple[list[str], list[str | None]]:
    """Every SPREAD-th page of a third of the extraction benchmark and their texts as installed, extracted
    once for the module."""
    pages = part_of(real_pages[::3], "quick", SPREAD)
    return pages, extract_all(pages)


@contextlib.contextmanager
def every_speedup(page: str):
    """What the extract step puts in place for one page."""
    with compiled_xpaths(), fast_readability(), fewer_tree_copies(page), fast_text_helpers():
        yield


def assert_same_texts(expected: list[str | None], got: list[str | None]) -> None:
    differing = [i for i, (a, b) in enumerate(zip(expected, got, strict=True)) if a != b]
    assert not differing, f"{len(differing)} of {len(expected)} pages differ, first: {differing[:5]}"


def same_extraction(pages: list[str]) -> None:
    """Identical text as installed, with finemill's readability steps alone, with them and the compiled
    XPaths, and with every speed-up."""
    expected = extract_all(pages)
    with fast_readability():
        alone = extract_all(pages)
        with compiled_xpaths():
            both = extract_all(pages)
    every = extract_all(pages, per_page=every_speedup)
    for got in (alone, both, every):
        assert_same_texts(expected, got)
    assert sum(text is not None for text in expected) > len(pages) // 3


def test_same_trees_on_real_pages(real_pages: list[str], crawl_pages: list[str]):
    """Trees after readability's steps and its `summary`, on a spread of the real pages (the texts of all
    of them: the tests below)."""
    assert same_trees(real_pages[::15] + crawl_pages[::6]) > 250


def test_same_extraction_on_bundled_sample(tmp_path):
    from datatrove.pipeline.readers import WarcReader

    from finemill.demo.crawl import write_sample_warc

    write_sample_warc(tmp_path / "sample.warc.gz", part=0, parts=2)
    pages = [doc.text for doc in WarcReader(str(tmp_path)).run()]
    assert len(pages) > 50
    same_extraction(pages)


def same_with_every_speedup(reference: tuple[list[str], list[str | None]]) -> None:
    pages, expected = reference
    assert_same_texts(expected, extract_all(pages, per_page=every_speedup))
    assert sum(text is not None for text in expected) > len(pages) // 3


@pytest.mark.slow
@pytest.mark.parametrize("part", QUICK_AND_REST)
def test_every_speedup_at_once_on_real_pages(part, request, crawl_pages, real_pages):
    """Every speed-up at once, as the extract step runs: on every SPREAD-th page of the 316 crawl pages and of
    every third page of the extraction benchmark (388 of 1,165), or (`-m every_item`) on all of those pages
    (all 1,165: `python -m benchmarks.quality.extraction`, which prints how many texts are identical)."""
    if part == "quick":  # the module's references (the "rest" part does not need them built)
        references = [request.getfixturevalue("crawl_reference"), request.getfixturevalue("real_reference")]
    else:  # the whole sets, in order: trafilatura's de-duplication cache makes a text depend on the pages before
        references = [(pages, extract_all(pages)) for pages in (crawl_pages, real_pages[::3])]
    for reference in references:
        same_with_every_speedup(reference)


@pytest.mark.slow
def test_each_speedup_on_spread_pages(crawl_reference, real_reference, monkeypatch):
    """The compiled XPaths alone, the readability steps alone and with the XPaths, and the fewer tree copies
    alone give trafilatura's text on every SPREAD-th page of both page sets (on all 1,165 real pages, each
    speed-up added in turn: `python -m benchmarks.quality.extraction --extractors trafilatura-lxml
    trafilatura-xpaths trafilatura-readability trafilatura-copies trafilatura`). The tree copies run on
    pages that reach justext (which gets the deferred cleaned tree) and the baseline (which gets the page
    parsed again) as well as on the others."""
    from trafilatura import core

    built, baselines = [], []
    build, baseline = trafilatura_tree_copies.DeferredTree.build, core.baseline
    for pages, expected in (crawl_reference, real_reference):
        with compiled_xpaths():
            assert_same_texts(expected, extract_all(pages))
        with fast_readability():
            assert_same_texts(expected, extract_all(pages))
            with compiled_xpaths():
                assert_same_texts(expected, extract_all(pages))
        with monkeypatch.context() as patched:
            patched.setattr(
                trafilatura_tree_copies.DeferredTree, "build", lambda *a: built.append(1) or build(*a)
            )
            patched.setattr(core, "baseline", lambda tree: baselines.append(1) or baseline(tree))
            assert_same_texts(expected, extract_all(pages, per_page=fewer_tree_copies))
    assert len(built) >= 10 and len(baselines) >= 2


# ------------------------------------------------------------------ fewer tree copies


def test_tree_copies_only_within_the_block():
    from copy import copy

    from trafilatura import core, external

    before = external.justext_rescue
    with fewer_tree_copies("<html></html>") as active:
        assert active and core.copy is not copy and external.justext_rescue is not before
        with fewer_tree_copies("<html></html>") as again:  # nested: still in place inside
            assert again
        assert core.copy is not copy
    assert core.copy is copy and external.justext_rescue is before


def test_tree_copies_in_other_threads_are_real():
    import threading

    from lxml import html

    tree = html.fromstring("<html><body><p>x</p></body></html>")
    copies = []
    with fewer_tree_copies("<html></html>"):
        from trafilatura import core

        worker = threading.Thread(target=lambda: copies.extend([core.copy(tree), core.copy(tree)]))
        worker.start()
        worker.join()
    assert all(etree.tostring(c) == etree.tostring(tree) and c is not tree for c in copies)


def test_changed_bare_extraction_is_left_as_installed(monkeypatch):
    from trafilatura import core

    monkeypatch.setattr(core, "bare_extraction", lambda *a, **k: None)
    trafilatura_tree_copies._swap.cache_clear()
    try:
        with pytest.warns(PatchSkipped, match="bare_extraction"), fewer_tree_copies("") as active:
            assert not active
    finally:
        trafilatura_tree_copies._swap.cache_clear()
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fewer_tree_copies("") as active:
            assert active


def test_extract_step_tree_copies_setting(monkeypatch):
    """`fewer_tree_copies: false` leaves trafilatura's copies as installed; the default swaps per call."""
    from trafilatura import core

    from finemill.steps.extract.trafilatura import TrafilaturaExtractor

    seen = []
    monkeypatch.setattr("trafilatura.extract", lambda *a, **k: seen.append(core.copy.__module__))
    TrafilaturaExtractor().extract("<html></html>")
    TrafilaturaExtractor(fewer_tree_copies=False).extract("<html></html>")
    assert seen == ["finemill.steps.extract.patches.trafilatura_tree_copies", "copy"]


# ------------------------------------------------------------------ text helpers

LINE_EDGES = [
    "",
    "one",
    "one\n",
    "a\r\nb\rc\nd",
    "a\r\r\nb",
    "\n\n\n\n\n\nx",
    "a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i\nj",
    "<html/>\n<html a='b' />\r\n\r\n<html/>",
    # around the pieces first_lines splits (1,024 characters, then 4x): a CR LF cut, no break at all
    "x" * 1023 + "\r\n" + "y\n" * 3,
    "a\nb\nc" + "x" * 1017 + "\r\nz\n",
    "x" * 1024 + "\r\nz",
    "\n" * 5000,
    "y" * 5000,
    "a\n" * 2 + "b" * 3000 + "\r\nc\u2028d\ne",
]


@pytest.mark.parametrize("text", LINE_EDGES)
def test_first_lines_are_splitlines(text: str):
    for count in range(7):
        assert trafilatura_text_helpers.first_lines(text, count or 1) == text.splitlines()[: count or 1]


def test_text_helpers_give_trafilaturas_results(real_pages: list[str], crawl_pages: list[str]):
    """Both equivalents against trafilatura's functions on every real page (as `load_html` calls the
    repair), on faulty pages, and on lines with and without control characters."""
    from trafilatura import utils

    pages = real_pages + crawl_pages
    faulty = [
        "<!DOCTYPE html/>\n<html lang='en' />\n<body>x</body>",
        "<!doctype html>\r\n<html/>\n",
        "a\nb\nc\n<html x='1'/>\n<p>y</p>",  # the fourth line: repaired
        "a\nb\nc\nd\n<html x='1'/>",  # the fifth: left alone
        "<html\n />",
    ]
    lines = ["plain text", "tab\there", "bell\x07 and nul\x00", "zero\u200bwidth", "\u2028", "", "caf\u00e9"]
    expected = (
        [utils.repair_faulty_html(page, page[:50].lower()) for page in pages + faulty],
        [utils.remove_control_characters(line) for line in lines],
    )
    with fast_text_helpers() as active:
        assert active
        got = (
            [utils.repair_faulty_html(page, page[:50].lower()) for page in pages + faulty],
            [utils.remove_control_characters(line) for line in lines],
        )
    assert got == expected
    assert sum(a != b for a, b in zip(expected[0], pages + faulty, strict=True)) > 100  # repairs were made


def test_text_helpers_only_within_the_block():
    from trafilatura import utils

    before = utils.repair_faulty_html
    with fast_text_helpers():
        assert utils.repair_faulty_html is not before
    assert utils.repair_faulty_html is before


def test_changed_text_helper_is_left_as_installed(monkeypatch):
    from trafilatura import utils

    monkeypatch.setattr(utils, "remove_control_characters", lambda string: string)
    trafilatura_text_helpers._swap.cache_clear()
    try:
        with pytest.warns(PatchSkipped, match="remove_control_characters"), fast_text_helpers() as active:
            assert not active
    finally:
        trafilatura_text_helpers._swap.cache_clear()


def test_extract_step_text_helpers_setting(monkeypatch):
    from trafilatura import utils

    from finemill.steps.extract.trafilatura import TrafilaturaExtractor

    seen = []
    monkeypatch.setattr("trafilatura.extract", lambda *a, **k: seen.append(utils.repair_faulty_html.__name__))
    TrafilaturaExtractor().extract("<html></html>")
    TrafilaturaExtractor(fast_text_helpers=False).extract("<html></html>")
    assert seen == ["repair_from_first_lines", "repair_faulty_html"]


# ------------------------------------------------------------------ the cycle collector


def test_gc_paused_for_the_call_only(monkeypatch):
    import gc

    from finemill.steps.extract.trafilatura import TrafilaturaExtractor, gc_paused

    seen = []
    monkeypatch.setattr("trafilatura.extract", lambda *a, **k: seen.append(gc.isenabled()))
    assert gc.isenabled()
    TrafilaturaExtractor().extract("<html></html>")
    TrafilaturaExtractor(pause_gc=False).extract("<html></html>")
    assert seen == [False, True] and gc.isenabled()
    gc.disable()
    try:
        with gc_paused():  # off already: left off
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
