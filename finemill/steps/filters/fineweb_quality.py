"""FineWeb's own quality rules, as they were when FineWeb was made.

datatrove's FineWebQualityFilter changed after FineWeb was produced (datatrove <= 0.3, spring 2024):
it now drops empty lines before the line ratios, compares with strict `<`/`>` instead of `<=`/`>=`,
and counts a wider set of terminal punctuation. `rules: fineweb` (the default of our recipe)
reproduces the rules FineWeb used; `rules: datatrove` uses datatrove's current class unchanged.
"""

from __future__ import annotations

from typing import Literal

from datatrove.data import Document
from datatrove.pipeline.filters import FineWebQualityFilter as DatatroveFineWebQualityFilter
from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates
from datatrove.utils.text import split_into_words

from finemill.steps.filters.quality import FastWords, WordSplitter

FINEWEB_STOP_CHARS = (".", "'", '"', "!", "?")


class FineWebQualityFilter(FastWords, DatatroveFineWebQualityFilter):
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

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self.rules == "datatrove":
            return super().filter(doc)
        lines = doc.text.split("\n")  # empty lines count, as in FineWeb
        ratio = sum(1 for line in lines if line.endswith(self.stop_chars)) / len(lines)
        if ratio <= self.line_punct_thr and not (ratio == 0 and self.line_punct_exclude_zero):
            return False, "line_punct_ratio"
        ratio = sum(1 for line in lines if len(line) <= self.short_line_length) / len(lines)
        if ratio >= self.short_line_threshold:
            return False, "short_line_ratio"
        non_empty_lines = [line for line in lines if line.strip() != ""]
        ratio = find_duplicates(non_empty_lines)[1] / max(len(doc.text.replace("\n", "")), 1)
        if ratio >= self.char_duplicates_ratio:
            return False, "char_dup_ratio"
        words = split_into_words(doc.text, self.language)
        if doc.text.count("\n") / max(len(words), 1) > self.new_line_ratio:
            return False, "list_ratio"
        return True
