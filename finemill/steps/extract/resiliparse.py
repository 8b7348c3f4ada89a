"""Main-text extraction with resiliparse: the fast profile's `extract_resiliparse` step.

resiliparse's `extract_plain_text(main_content=True)` walks the DOM once in C++ with simple
main-content heuristics (drops navigation, headers, footers, sidebars, hidden elements), an order of
magnitude faster than trafilatura, for somewhat more boilerplate kept. datatrove 0.10.1 has no resiliparse
extractor, so this step is a datatrove `BaseExtractor` run through the same accounted loop as the
trafilatura step: same sandbox, same reasons (`no_main_text`, `timeout`, ...), same `removed/` output.
"""

from __future__ import annotations

from finemill.steps.extract.trafilatura import AccountedExtraction, check_import


class ResiliparseExtractor(AccountedExtraction):
    """resiliparse `extract_plain_text(html, main_content=True, ...)` per page.

    The defaults follow the trafilatura step's content policy, so the two profiles differ in the
    extractor, not in what they are asked to keep: no image alt texts (trafilatura keeps no images), no
    comment sections (`include_comments=False`), no link targets, form fields or <noscript> text.
    `timeout` is per page, in seconds, as for trafilatura; resiliparse rarely needs a fraction of it.
    """

    name = "⚡ Resiliparse"
    _requires_dependencies = ["resiliparse"]

    def __init__(
        self,
        main_content: bool = True,
        alt_texts: bool = False,
        comments: bool = False,
        list_bullets: bool = True,
        preserve_formatting: bool = True,
        skip_elements: list[str] | None = None,
        timeout: float = 1.0,
        exclusion_writer=None,
    ) -> None:
        check_import("resiliparse.extract.html2text")
        super().__init__(timeout=timeout)
        self.main_content = main_content
        self.alt_texts = alt_texts
        self.comments = comments
        self.list_bullets = list_bullets
        self.preserve_formatting = preserve_formatting
        self.skip_elements = list(skip_elements) if skip_elements else None
        self.exclusion_writer = exclusion_writer

    def extract(self, text: str) -> str:
        """The page's main text; "" when there is none (whitespace only counts as none)."""
        from resiliparse.extract.html2text import extract_plain_text

        extracted = extract_plain_text(
            text,
            preserve_formatting=self.preserve_formatting,
            main_content=self.main_content,
            list_bullets=self.list_bullets,
            alt_texts=self.alt_texts,
            links=False,
            form_fields=False,
            noscript=False,
            comments=self.comments,
            skip_elements=self.skip_elements,
        )
        # resiliparse indents list items and may leave blank lines at the edges of the main block.
        return extracted.strip()
