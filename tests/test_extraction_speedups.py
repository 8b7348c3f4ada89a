"""finemill's readability steps change trees as trafilatura's readability does, and trafilatura's text does
not change on real pages (the extraction benchmark and the crawl files) nor on the bundled sample."""

from __future__ import annotations

import warnings
from copy import deepcopy

import pytest
from lxml import etree

from finemill.patches import PatchSkipped, compiled_xpaths, fast_readability
from finemill.patches import trafilatura_readability as patch
from tests.conftest import shared_file
from tests.test_fast_xpath import extract_all

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


def warc_pages(relative: str) -> list[str]:
    from datatrove.pipeline.readers import WarcReader

    warc = shared_file(relative)
    return [doc.text for doc in WarcReader(str(warc.parent), glob_pattern=warc.name).run()]


def crawl_pages() -> list[str]:
    names = [
        "CC-MAIN-2020-34-excerpt.warc.gz",
        "CC-2008-2009-arc-samples.warc.gz",
        "sample-0000.warc.gz",
        "sample-0001.warc.gz",
        "heritrix-2008-mixed-content.warc.gz",
        "whirlwind.warc.gz",
    ]
    return [page for name in names for page in warc_pages(f"crawl/{name}")]


def same_extraction(pages: list[str]) -> None:
    """Identical text as installed, with finemill's readability steps alone and with every speed-up."""
    expected = extract_all(pages)
    with fast_readability():
        alone = extract_all(pages)
        with compiled_xpaths():
            both = extract_all(pages)
    for got in (alone, both):
        differing = [i for i, (a, b) in enumerate(zip(expected, got, strict=True)) if a != b]
        assert not differing, f"{len(differing)} of {len(pages)} pages differ, first: {differing[:5]}"
    assert sum(text is not None for text in expected) > len(pages) // 3


def test_same_trees_on_real_pages():
    pages = warc_pages("extraction/real_pages_aeb_trafilatura.warc.gz")[::5] + crawl_pages()[::3]
    assert same_trees(pages) > 500


def test_same_extraction_on_bundled_sample(tmp_path):
    from datatrove.pipeline.readers import WarcReader

    from finemill.demo.crawl import write_sample_warc

    write_sample_warc(tmp_path / "sample.warc.gz", part=0, parts=2)
    pages = [doc.text for doc in WarcReader(str(tmp_path)).run()]
    assert len(pages) > 50
    same_extraction(pages)


@pytest.mark.slow
def test_same_extraction_on_crawl_pages():
    same_extraction(crawl_pages())


@pytest.mark.slow
def test_same_extraction_on_a_third_of_the_real_pages():
    """Every third page of the extraction benchmark (388 of 1,165; `python benchmarks/extraction_quality.py`
    checks all of them, and prints how many texts are identical)."""
    same_extraction(warc_pages("extraction/real_pages_aeb_trafilatura.warc.gz")[::3])
