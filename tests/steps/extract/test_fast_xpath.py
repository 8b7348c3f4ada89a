"""Compiled XPaths select exactly what lxml's XPath selects, and trafilatura's output does not change."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from lxml import etree, html

from finemill.steps.extract import fast_xpath
from finemill.steps.extract.fast_xpath import CompiledXPath, compile_xpath
from finemill.steps.extract.patches import compiled_xpaths
from tests.conftest import QUICK_AND_REST, part_of, shared_file

# The expressions trafilatura spends its time on: losing any of them loses the speed-up.
PRUNING_LISTS = [
    "OVERALL_DISCARD_XPATH",
    "PAYWALL_DISCARD_XPATH",
    "REMOVE_COMMENTS_XPATH",
    "TEASER_DISCARD_XPATH",
    "DISCARD_IMAGE_ELEMENTS",
    "COMMENTS_XPATH",
]

# Each feature of the grammar, and the corners of XPath's semantics: missing attributes read as "" by
# contains/starts-with but as an empty node-set by `=`, translate() with removal and repeated characters,
# and/or precedence, `self::` outside the leading filter, positions per parent and overall.
EDGE_EXPRESSIONS = [
    './/*[contains(@id, "")]',
    './/*[starts-with(@title, "")]',
    './/*[@id=""]',
    './/*[translate(@id, "ab", "A")=""]',
    './/*[translate(@class, "aab", "xyz")="xyz"]',
    './/*[translate(@id, "aab", "xyz")="xz"]',
    './/*[contains(translate(@class, "NAV", "nav"), "nav")]',
    ".//*[@data-x]",
    './/*[@data-x or @id="main" and @class="big"]',
    './/*[(@data-x or @id="main") and @class="big"]',
    './/*[(self::div or self::p)][starts-with(@class, "nav") or contains(@id, "foot")]',
    './/*[self::span or contains(@class, "big")]',
    './/*[(self::div)][contains(@class, "x")][@id]',
    './/*[contains(@class, "big")][1]',
    '(.//*[(self::div or self::section)][contains(@class, "big")])[1]',
    ".//*[(self::p or self::span)]",
]
EDGE_HTML = """<html><head><title>t</title><!-- a comment --></head><body>
<div id="" class="big nav-top" data-x=""><p class="x" title="">one <!-- c --> two</p>
  <?php echo 1; ?><span id="ab" class="xyb">s</span><span class="NAVIGATION">n</span></div>
<section class="big"><div id="main" class="big"><p>deep</p><div class="big">second</div></div>
  <div class="Big">case</div><p id="footer-1">f</p></section>
<div id="main" class="small">m</div><span>caf\u00e9 \u2014 \u6f22\u5b57</span><div id="last" class="big x">last</div>
</body></html>"""


def lxml_and_compiled(source: str) -> tuple[etree.XPath, CompiledXPath]:
    original = etree.XPath(source)
    compiled = compile_xpath(original)
    assert compiled is not None, source
    return original, compiled


@pytest.mark.parametrize("source", EDGE_EXPRESSIONS)
def test_edge_cases_select_what_lxml_selects(source: str):
    original, compiled = lxml_and_compiled(source)
    root = html.fromstring(EDGE_HTML)
    contexts = [root, *root.iterdescendants(etree.Element)]  # every element as the context, leaves too
    for context in contexts:
        assert compiled(context) == original(context), etree.tostring(context)[:80]
    assert any(original(context) for context in contexts), "the case must select something somewhere"


@pytest.mark.parametrize(
    "source",
    [
        "(.//article)[1]",  # a name step, not .//*
        ".//cite|.//quote",  # a union
        '//*[(self::a or self::div)][rel="me"]',  # a child element compared, not an attribute
        './/*[@class!="x"]',
        ".//*[2]",
        './/*[contains(text(), "x")]',
        './/*[contains(@class, "x")][1][@id]',  # a predicate after a position
        './/div[@id="x"]',
    ],
)
def test_other_expressions_are_left_to_lxml(source: str):
    assert compile_xpath(etree.XPath(source)) is None


def test_non_element_contexts_go_to_lxml():
    original, compiled = lxml_and_compiled(".//*[(self::html or self::div)]")
    root = html.fromstring(EDGE_HTML)
    tree = etree.ElementTree(root)
    assert compiled(tree) == original(tree) and len(compiled(tree)) == 6
    comment = root.find(".//head").getchildren()[-1]
    for expression in (original, compiled):  # the same error as lxml's
        with pytest.raises(ValueError, match="not an XML element"):
            expression(comment)


def test_random_trees_and_trafilatura_expressions():
    """Random markup built from the words trafilatura's expressions look for (in random case, pieces and
    combinations): every compiled expression of trafilatura selects what lxml selects, from every node."""
    from trafilatura import xpaths

    originals = [
        x
        for name in dir(xpaths)
        if name.isupper()
        for x in getattr(xpaths, name)
        if isinstance(x, etree.XPath)
    ]
    pairs = [(x, c) for x in originals if (c := compile_xpath(x)) is not None]
    words = sorted({w for x, _ in pairs for w in _quoted(x.path)} | {"", " ", "x"})
    rng = random.Random(7)
    for _ in range(40):
        root = random_tree(rng, words)
        contexts = [root, *rng.sample(list(root.iterdescendants(etree.Element)), 5)]
        for original, compiled in pairs:
            for context in contexts:
                assert compiled(context) == original(context), original.path[:60]


def _quoted(source: str) -> Iterator[str]:
    for token_kind, text in fast_xpath.tokenize(source):
        if token_kind == "string":
            yield text


def random_tree(rng: random.Random, words: list[str]) -> etree._Element:
    tags = ["div", "p", "span", "section", "article", "main", "list", "item", "a", "h1", "header", "cite"]
    attributes = [
        "id",
        "class",
        "role",
        "style",
        "data-component",
        "aria-hidden",
        "itemprop",
        "data-lp-replacement-content",
        "title",
    ]

    def value() -> str:
        parts = [rng.choice(words) for _ in range(rng.randint(0, 3))]
        text = rng.choice(["", " ", "-", "_"]).join(parts)
        return text.upper() if rng.random() < 0.2 else text.capitalize() if rng.random() < 0.2 else text

    root = etree.Element("html")
    nodes = [etree.SubElement(root, "body")]
    for _ in range(120):
        parent = rng.choice(nodes)
        if rng.random() < 0.1:
            parent.append(etree.Comment("c"))
            continue
        element = etree.SubElement(parent, rng.choice(tags))
        for name in rng.sample(attributes, rng.randint(0, 4)):
            element.set(name, value())
        nodes.append(element)
    return root


def test_trafilatura_expressions_compile():
    from trafilatura import xpaths

    for name in PRUNING_LISTS:
        for expression in getattr(xpaths, name):
            assert compile_xpath(expression) is not None, f"{name}: {expression.path[:80]}"


def test_compiled_only_within_the_block():
    from trafilatura import xpaths

    before = list(xpaths.OVERALL_DISCARD_XPATH)
    with compiled_xpaths() as compiled:
        assert compiled >= 15
        assert all(isinstance(x, CompiledXPath) for x in xpaths.OVERALL_DISCARD_XPATH)
        assert any(isinstance(x, etree.XPath) for x in xpaths.COMMENTS_DISCARD_XPATH)  # `.//cite|.//quote`
        with compiled_xpaths() as again:  # nested: still compiled inside, restored once outside
            assert again == compiled
        assert all(isinstance(x, CompiledXPath) for x in xpaths.OVERALL_DISCARD_XPATH)
        root = html.fromstring(EDGE_HTML)
        assert xpaths.OVERALL_DISCARD_XPATH[0](root)  # the footer paragraph
        assert fast_xpath.kept_alive and fast_xpath.kept_alive[-1] == list(
            root.iterdescendants(*xpaths.OVERALL_DISCARD_XPATH[0].shape.tags)
        )  # the elements visited, kept for the block
    assert xpaths.OVERALL_DISCARD_XPATH == before and fast_xpath.kept_alive is None


def test_extract_step_setting(monkeypatch):
    """`compiled_xpaths: false` runs trafilatura exactly as installed; the default swaps them in per call."""
    from trafilatura import xpaths

    from finemill.steps.extract.trafilatura import TrafilaturaExtractor

    seen = []
    monkeypatch.setattr(
        "trafilatura.extract", lambda *a, **k: seen.append(type(xpaths.OVERALL_DISCARD_XPATH[0]))
    )
    TrafilaturaExtractor().extract("<html></html>")
    TrafilaturaExtractor(compiled_xpaths=False).extract("<html></html>")
    assert seen == [CompiledXPath, etree.XPath]
    assert type(xpaths.OVERALL_DISCARD_XPATH[0]) is etree.XPath


def extract_all(pages: list[str], per_page=None) -> list[str | None]:
    """trafilatura as finemill's recipe runs it, from a fresh de-duplication cache; each call within
    `per_page(page)` (a context manager) where given."""
    import contextlib

    import trafilatura
    from trafilatura.deduplication import LRU_TEST

    LRU_TEST.clear()
    texts = []
    for page in pages:
        with per_page(page) if per_page else contextlib.nullcontext():
            texts.append(
                trafilatura.extract(page, favor_precision=True, include_comments=False, deduplicate=True)
            )
    return texts


def same_extraction(pages: list[str]) -> None:
    expected = extract_all(pages)
    with compiled_xpaths():
        got = extract_all(pages)
    differing = [i for i, (a, b) in enumerate(zip(expected, got, strict=True)) if a != b]
    assert not differing, f"{len(differing)} of {len(pages)} pages differ, first: {differing[:5]}"
    assert sum(text is not None for text in expected) > len(pages) // 2


def test_same_extraction_on_bundled_sample(tmp_path):
    from datatrove.pipeline.readers import WarcReader

    from finemill.demo.crawl import write_sample_warc

    write_sample_warc(tmp_path / "sample.warc.gz", part=0, parts=2)
    pages = [doc.text for doc in WarcReader(str(tmp_path)).run()]
    assert len(pages) > 50
    same_extraction(pages)


@pytest.fixture(scope="module")
def real_pages() -> list[str]:
    """The 1,165 pages of the extraction benchmark, read once for the module. (The compiled XPaths' texts
    on real pages: test_extraction_speedups.py, alone and with every speed-up.)"""
    from datatrove.pipeline.readers import WarcReader

    warc = shared_file("extraction/real_pages_aeb_trafilatura.warc.gz")
    return [doc.text for doc in WarcReader(str(warc.parent), glob_pattern=warc.name).run()]


@pytest.mark.parametrize("part", QUICK_AND_REST)
def test_same_elements_on_real_pages(real_pages: list[str], part: str):
    """Every compiled trafilatura expression on the page trees of every 16th real page, and on each tree as
    trafilatura's cleaning leaves it (what the pruning expressions are applied to). Their texts on all
    1,165 pages: `python -m benchmarks.quality.extraction --extractors trafilatura-lxml trafilatura-xpaths`."""
    from trafilatura import xpaths
    from trafilatura.htmlprocessing import tree_cleaning
    from trafilatura.settings import Extractor
    from trafilatura.utils import load_html

    pages = part_of(real_pages[1::16], part, 2)
    pairs = [
        (x, c)
        for name in PRUNING_LISTS + ["BODY_XPATH"]
        for x in getattr(xpaths, name)
        if (c := compile_xpath(x)) is not None
    ]
    options = Extractor(precision=True)
    selected = 0

    def check(root: etree._Element) -> int:
        found = 0
        for original, compiled in pairs:
            expected = original(root)
            assert compiled(root) == expected, original.path[:60]
            found += len(expected)
        return found

    for page in pages:
        tree = load_html(page)
        if tree is not None:
            selected += check(tree)
            selected += check(tree_cleaning(tree, options))  # cleans in place
    assert selected > 1_000


def test_xpath_benchmark_reports_identical_texts():
    """benchmarks/speed/xpath.py on a few real pages of each input: its report, and the same texts."""
    import subprocess
    import sys

    from tests.conftest import REPO

    shared_file("extraction/real_pages_aeb_trafilatura.warc.gz")
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.speed.xpath", "--limit", "6"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "identical: 12 of 12" in result.stdout
    assert "XPath share of extraction: lxml" in result.stdout and "OVERALL_DISCARD_XPATH[0]" in result.stdout


@pytest.mark.slow
def test_merged_tests_decide_as_each_translate_on_real_values(real_pages: list[str]):
    """A value without a translated character is decided in one pass over all the variants' tests; on the
    class, id, role and style values of every 18th real page (over 36,000 with their upper- and title-case
    forms, which take the variants' own path), every decision of trafilatura's expressions answers as its
    translate() variants tested one by one."""
    import gc

    from trafilatura.utils import load_html

    pages = real_pages[::18]

    values = set()
    for page in pages:
        root = load_html(page)
        if root is None:
            continue
        for attribute in ("class", "id", "role", "style"):
            values.update(root.xpath(f"//@{attribute}"))
    values = sorted(values | {value.upper() for value in values} | {value.title() for value in values})
    from trafilatura import xpaths

    expressions = [c for name in PRUNING_LISTS for x in getattr(xpaths, name) if (c := compile_xpath(x))]
    decisions = [o for o in gc.get_objects() if isinstance(o, fast_xpath.AttributeDecision)]
    assert expressions and sum(d.translated_char is not None for d in decisions) >= 5

    def by_variants(decision: fast_xpath.AttributeDecision, value: str) -> bool:
        return decision.exists or any(
            (text := value if table is None else value.translate(table)) in equals
            or text.startswith(starts)
            or contains(text)
            for table, contains, starts, equals in decision.variants
        )

    assert len(values) > 10_000
    for decision in decisions:
        differing = [v for v in values if decision.decide(v) != by_variants(decision, v)]
        assert not differing, (decision.attribute, differing[:5])


FORM_HTML = """<html><body><form action="x"><label>l</label><input name="a"/><select><option>o</option>
</select><textarea>t</textarea></form><!-- comment --><?pi x?><p>caf&eacute; &amp; <b>b</b></p><svg:a>n</svg:a>
<FORM><INPUT/></FORM></body></html>"""


def test_c_class_lookup_gives_lxml_html_classes(real_pages: list[str]):
    """The C lookup gives every node the class lxml.html's Python lookup gives it (forms, inputs,
    comments, processing instructions, prefixed names, upper-case tags as the parser writes them) on the
    edge page and a sixth of the real pages; within the block trafilatura's parser uses it, after it
    lxml.html's own lookup again."""
    from trafilatura import utils

    from finemill.steps.extract.patches import trafilatura_xpaths

    def classes(parser, page: str) -> list[type]:
        return [type(node) for node in html.fromstring(page, parser=parser).iter()]

    python_parser, c_parser = html.HTMLParser(), html.HTMLParser()
    c_parser.set_element_class_lookup(
        trafilatura_xpaths.c_class_lookup(html.HtmlElementClassLookup()._element_classes)
    )
    expected = classes(python_parser, FORM_HTML)
    assert {html.FormElement, html.InputElement, html.HtmlComment} <= set(expected)
    assert classes(c_parser, FORM_HTML) == expected

    pages = [page.encode() for page in real_pages[::6]]
    expected = [classes(utils.HTML_PARSER, page) for page in pages]
    assert sum(map(len, expected)) > 50_000
    with compiled_xpaths():
        assert [classes(utils.HTML_PARSER, page) for page in pages] == expected
        assert type(html.fromstring(b"<p>x</p>", parser=utils.HTML_PARSER)) is html.HtmlElement
        assert trafilatura_xpaths._lookup_swap().parser is utils.HTML_PARSER
    assert [classes(utils.HTML_PARSER, page) for page in pages[:20]] == expected[:20]


def test_changed_lxml_html_lookup_is_left_as_installed(monkeypatch):
    from finemill.patches import PatchSkipped
    from finemill.steps.extract.patches import trafilatura_xpaths

    monkeypatch.setitem(trafilatura_xpaths.LXML_HTML_LOOKUP, "lookup", "0" * 12)
    trafilatura_xpaths._lookup_swap.cache_clear()
    trafilatura_xpaths._swap.cache_clear()  # built with the lookup: built again without it
    try:
        with pytest.warns(PatchSkipped, match="class lookup"):
            assert trafilatura_xpaths._lookup_swap().parser is None
        with compiled_xpaths() as compiled:  # the XPaths are still compiled
            assert compiled >= 15
    finally:
        trafilatura_xpaths._lookup_swap.cache_clear()
        trafilatura_xpaths._swap.cache_clear()
