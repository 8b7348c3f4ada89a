"""FineWeb's own quality rules, as they were when FineWeb was made.

datatrove's FineWebQualityFilter changed after FineWeb was produced (datatrove <= 0.3, spring 2024):
it now drops empty lines before the line ratios, compares with strict `<`/`>` instead of `<=`/`>=`,
and counts a wider set of terminal punctuation. `rules: fineweb` (the default of our recipe)
reproduces the rules FineWeb used; `rules: datatrove` applies datatrove's current rules (`tests/steps/filters/test_quality.py`
checks it decides as datatrove's class does).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from datatrove.data import Document
from datatrove.pipeline.filters import FineWebQualityFilter as DatatroveFineWebQualityFilter
from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates
from datatrove.utils.text import split_into_words

from finemill.steps.filters.checks import Check, MeasuredFilter
from finemill.steps.filters.quality import FastWords, WordSplitter

FINEWEB_STOP_CHARS = (".", "'", '"', "!", "?")


class FineWebQualityFilter(FastWords, MeasuredFilter, DatatroveFineWebQualityFilter):
    """Line-punctuation, short-line, duplicated-line and list-like (newline per word) ratios."""

    def __init__(
        self,
        rules: Literal["fineweb", "datatrove"] = "fineweb",
        line_punct_thr: float = 0.12,
        line_punct_exclude_zero: bool = False,
        short_line_thr: float = 0.67,
        short_line_length: int = 30,
        char_duplicates_ratio: float = 0.01,
        new_line_ratio: float = 0.3,
        words: WordSplitter = "fast",
        exclusion_writer=None,
    ) -> None:
        super().__init__(
            words=words,
            exclusion_writer=exclusion_writer,
            line_punct_thr=line_punct_thr,
            line_punct_exclude_zero=line_punct_exclude_zero,
            stop_chars=FINEWEB_STOP_CHARS if rules == "fineweb" else None,
            short_line_thr=short_line_thr,
            short_line_length=short_line_length,
            char_duplicates_ratio=char_duplicates_ratio,
            new_line_ratio=new_line_ratio,
        )
        self.rules = rules

    def checks(self, doc: Document) -> Iterator[Check]:
        """The four ratios in order, under either rule set (see the module's docstring for the differences)."""
        fineweb = self.rules == "fineweb"
        lines = doc.text.split("\n")
        if not fineweb:  # datatrove's current rules: empty lines do not count
            lines = [line for line in lines if line.strip() != ""]
            if not lines:
                yield Check("empty", "the text is empty")
                return
        ending = sum(1 for line in lines if line.endswith(self.stop_chars)) / len(lines)
        if not (ending == 0 and self.line_punct_exclude_zero):
            yield Check(
                "line_punct_ratio",
                "share of lines ending in punctuation",
                ending,
                self.line_punct_thr,
                "<=" if fineweb else "<",
            )
        short = sum(1 for line in lines if len(line) <= self.short_line_length) / len(lines)
        yield Check(
            "short_line_ratio",
            "share of short lines",
            short,
            self.short_line_threshold,
            ">=" if fineweb else ">",
        )
        characters = len(doc.text.replace("\n", ""))
        non_empty_lines = [line for line in lines if line.strip() != ""] if fineweb else lines
        duplicated = find_duplicates(non_empty_lines)[1] / (max(characters, 1) if fineweb else characters)
        yield Check(
            "char_dup_ratio",
            "characters in duplicated lines / all",
            duplicated,
            self.char_duplicates_ratio,
            ">=" if fineweb else ">",
        )
        words = len(split_into_words(doc.text, self.language))
        yield Check(
            "list_ratio",
            "newlines per word",
            doc.text.count("\n") / (max(words, 1) if fineweb else words),
            self.new_line_ratio,
            ">",
        )
