"""Two steps of trafilatura's readability fallback, doing the same to the tree with less work.

trafilatura runs its copy of readability (`trafilatura.readability_lxml.Document.summary`) on every page to
compare its text length with its own extraction (a fifth of trafilatura's time on real pages, sampled with
a profiler). Two of its steps take over half of that:

- `remove_unlikely_candidates` visits every element, joins its class and id, and runs two regular
  expressions on the result. Here only the elements that have a class or an id are visited (lxml's XPath
  selects them without a Python object per element; the others are skipped by readability too, their
  joined attributes being empty), and the two expressions' verdict is remembered per joined value (pages
  and sites repeat their class names).
- `transform_misused_divs_into_paragraphs` serializes the children of every `<div>` to XML, nested divs
  again and again, to search the text for `<a`, `<p`, `<div` and the like. In that XML a `<` followed by
  a letter starts an element (text and attribute values have `<` escaped), so the search finds something
  exactly when a descendant's tag begins with one of those names: here the tags are tested, and the walk
  stops at the first hit. A div holding a comment, a processing instruction or a namespaced element (whose
  XML text differs from its tag) is serialized and searched as readability does.

`finemill.steps.extract.patches.fast_readability()` puts both in place of readability's for one `extract`
call;
`tests/steps/extract/test_extraction_speedups.py` checks the same trees and the same extracted text on real pages.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import fragment_fromstring

WITH_CLASS_OR_ID = etree.XPath(".//*[@class or @id]")


class UnlikelyCandidates:
    """readability's `remove_unlikely_candidates` for its patterns: `unlikely` and `maybe` are its
    `unlikelyCandidatesRe` and `okMaybeItsACandidateRe`, `kept_tags` its FRAME_TAGS."""

    max_remembered = 100_000

    def __init__(self, unlikely: re.Pattern, maybe: re.Pattern, kept_tags: set[str]):
        self.unlikely, self.maybe, self.kept_tags = unlikely, maybe, kept_tags
        self.remembered: dict[str, bool] = {}

    def is_unlikely(self, attributes: str) -> bool:
        verdict = self.remembered.get(attributes)
        if verdict is None:
            if len(self.remembered) >= self.max_remembered:
                self.remembered.clear()
            verdict = bool(self.unlikely.search(attributes)) and not self.maybe.search(attributes)
            self.remembered[attributes] = verdict
        return verdict

    def __call__(self, document) -> None:
        """Drop the unlikely elements of `document.doc` (a readability Document), in document order."""
        for element in WITH_CLASS_OR_ID(document.doc):  # the list is taken before any drop, as readability's
            attributes = " ".join(filter(None, (element.get("class"), element.get("id"))))
            if len(attributes) >= 2 and element.tag not in self.kept_tags and self.is_unlikely(attributes):
                element.drop_tree()


class MisusedDivs:
    """readability's `transform_misused_divs_into_paragraphs` for its `divToPElementsRe` (`block_start`)
    and its serializer (`serialize`, used where tags alone cannot answer)."""

    def __init__(self, block_start: re.Pattern, serialize):
        self.block_start, self.serialize = block_start, serialize

    def holds_block(self, div: etree._Element) -> bool:
        """Whether readability's search over the serialized children of `div` finds a block element."""
        for descendant in div.iterdescendants():
            tag = descendant.tag
            if not isinstance(tag, str) or tag.startswith("{"):  # comment, PI, entity or namespaced tag
                return bool(self.block_start.search("".join(map(self.serialize, list(div)))))
            if self.block_start.search("<" + tag):
                return True
        return False

    def __call__(self, document) -> None:
        for div in document.doc.findall(".//div"):
            if not self.holds_block(div):
                div.tag = "p"
        # unchanged from readability: text directly in a div, and after its children, goes into new <p>s
        for div in document.doc.findall(".//div"):
            if div.text and div.text.strip():
                paragraph = fragment_fromstring("<p/>")
                paragraph.text, div.text = div.text, None
                div.insert(0, paragraph)
            for position, child in sorted(enumerate(div), reverse=True):
                if child.tail and child.tail.strip():
                    paragraph = fragment_fromstring("<p/>")
                    paragraph.text, child.tail = child.tail, None
                    div.insert(position + 1, paragraph)
                if child.tag == "br":
                    child.drop_tree()
