"""finemill's own steps: offline language ID, FineWeb's original rules, offline URL filter."""

from __future__ import annotations

import csv

import pytest
from datatrove.data import Document
from datatrove.pipeline.filters import FineWebQualityFilter as DatatroveFineWebQualityFilter

from finemill.errors import FinemillError
from finemill.steps.filters.fineweb_quality import FineWebQualityFilter
from finemill.steps.filters.language import FastTextLanguageFilter, find_lid_model
from finemill.steps.filters.url import OfflineURLFilter
from tests.conftest import shared_file


def doc(text: str, url: str = "https://example.com/a") -> Document:
    return Document(text=text, id="x", metadata={"url": url})


def test_language_filter_keeps_english_and_drops_the_rest_of_tatoeba():
    rows = list(
        csv.DictReader(shared_file("lid/tatoeba/tatoeba_long.txt").open(encoding="utf-8"), delimiter="\t")
    )
    lid = FastTextLanguageFilter()
    decisions = {(r["CLD2-iso-639-3"], r["text"]): lid.filter(doc(r["text"])) for r in rows}
    english = [kept for (code, _), kept in decisions.items() if code == "eng"]
    others = [kept for (code, _), kept in decisions.items() if code != "eng"]
    assert english and all(k is True for k in english)
    assert sum(k is True for k in others) <= 2  # a sentence or two of English-like text may pass
    assert {k[1] for k in others if k is not True} == {"below_threshold"}


def test_language_filter_records_language_and_score():
    lid = FastTextLanguageFilter()
    d = doc("Der schnelle braune Fuchs springt über den faulen Hund und läuft dann weiter in den Wald.")
    assert lid.filter(d) == (False, "below_threshold")
    assert d.metadata["language"] == "de" and d.metadata["language_score"] > 0.65


def test_missing_language_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(FinemillError, match="language model not found"):
        find_lid_model(str(tmp_path / "lid.176.bin"))


def test_fineweb_rules_count_empty_lines_as_finewebs_filter_did():
    lines = [f"This is sentence number {i} of a perfectly normal paragraph of text." for i in range(10)]
    # One blank line between paragraphs: fine under both rule sets.
    spaced = "\n\n".join(lines)
    assert FineWebQualityFilter(rules="fineweb").filter(doc(spaced)) is True
    assert DatatroveFineWebQualityFilter().filter(doc(spaced)) is True
    # Three blank lines between paragraphs: FineWeb counted blank lines as short lines (27 of 37 >= 0.67);
    # datatrove now drops them before computing the ratio and keeps the page.
    gappy = "\n\n\n\n".join(lines)
    assert FineWebQualityFilter(rules="fineweb").filter(doc(gappy)) == (False, "short_line_ratio")
    assert DatatroveFineWebQualityFilter().filter(doc(gappy)) is True
    # Exactly at the threshold (3 of 25 lines = 0.12 end with punctuation): FineWeb's `<=` drops what
    # datatrove's `<` keeps.
    at_threshold = "\n".join(
        [f"Line {i} ends with a period." for i in range(3)]
        + [f"line {i} has no punctuation and is long enough" for i in range(22)]
    )
    assert FineWebQualityFilter(rules="fineweb").filter(doc(at_threshold)) == (False, "line_punct_ratio")
    assert DatatroveFineWebQualityFilter().filter(doc(at_threshold)) is True


def test_fineweb_rules_datatrove_variant_is_datatroves_class():
    text = "\n\n\n\n".join(f"This is sentence number {i} of a normal paragraph." for i in range(10))
    assert FineWebQualityFilter(rules="datatrove").filter(
        doc(text)
    ) == DatatroveFineWebQualityFilter().filter(doc(text))


def test_url_filter_works_offline_on_blocklisted_and_clean_urls():
    url_filter = OfflineURLFilter()
    assert url_filter.filter(doc("x", "https://en.wikipedia.org/wiki/Bread")) is True
    assert url_filter.filter(doc("x", "https://www.pornhub.com/view")) == (False, "domain")
    assert url_filter.tldextractor.suffix_list_urls == ()
