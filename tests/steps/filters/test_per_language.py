"""The FineWeb-2 recipe's filters: each document gets its language's FineWeb-2 settings and word splitter,
and decides as datatrove's multilingual classes do with the same settings, on the real non-English pages."""

from __future__ import annotations

import pytest
from datatrove.data import Document
from datatrove.pipeline.filters import GopherQualityFilter as DatatroveGopherQuality

from benchmarks.quality import fidelity_languages
from finemill.errors import FinemillError
from finemill.pipeline.recipe import load_recipe
from finemill.pipeline.registry import step_class
from finemill.steps.filters.languages import fineweb2_settings, language_settings
from tests.conftest import shared_file

FRENCH = (
    "Le conseil municipal s'est réuni mardi soir pour discuter du nouveau projet de bibliothèque. "
    "Les habitants ont posé des questions sur le coût des travaux et sur les horaires d'ouverture. "
    "Le maire a répondu que la ville financera la moitié du projet avec l'aide de la région. "
) * 4


def recipe_step(name: str, **extra):
    params = {s.name: s.params for s in load_recipe("fineweb2").steps}[name]
    return step_class(name)(**{**params, **extra})


def decide(step, text: str, language: str):
    outcome = step.filter(Document(text=text, id="x", metadata={"language": language}))
    return outcome if outcome is True else outcome[1]


@pytest.mark.slow
def test_same_decisions_as_datatrove_classes_on_real_non_english_pages():
    shared_file("extraction/real_pages_aeb_trafilatura.warc.gz")
    pages = fidelity_languages.non_english_pages(every=10)
    # the languages of the pages with most non-English pages (building datatrove's side costs seconds each)
    result = fidelity_languages.compare(pages, languages={"de", "es", "fr", "pl"})
    assert not result.differences
    assert sum(result.compared.values()) == 3 * sum(n for n, _, _ in result.kept.values())
    # kept counts per language: German the largest; the filters both keep and remove real pages
    assert set(result.kept) == {"de", "es", "fr", "pl"}
    german, kept_by_finemill, kept_by_datatrove = result.kept["de"]
    assert kept_by_finemill == kept_by_datatrove
    assert 0 < kept_by_finemill < german


def test_each_language_gets_its_own_values():
    step = recipe_step("gopher_quality")
    french, _, how = step.for_language("fr")
    german, _, _ = step.for_language("de")
    assert how == "spacy:fr"
    assert french.stop_words == set(fineweb2_settings()["languages"]["fr"]["stopwords"])
    assert french.stop_words != german.stop_words
    assert decide(step, FRENCH, "fr") is True
    # the same French text judged as German lacks German stop words
    assert decide(step, FRENCH, "de") == "gopher_enough_stop_words"


def test_language_without_settings_gets_the_defaults_and_a_counter():
    step = recipe_step("gopher_quality")
    defaults, own = language_settings("sh")
    assert not own and defaults["min_stop_words"] == 0  # no list to count
    assert decide(step, FRENCH, "sh") is True
    assert step.stats["no_settings_sh"].total == 1


def test_missing_word_splitter_falls_back_to_whitespace_or_fails_in_one_line():
    thai = "ภาษาไทย เป็น ภาษา ที่ มี ผู้พูด มาก " * 20
    step = recipe_step("gopher_repetition")
    _, own, how = step.for_language("th")
    assert own and how in ("whitespace", "datatrove:ThaiTokenizer")
    if how == "datatrove:ThaiTokenizer":
        pytest.skip("pythainlp is installed: no fallback to see")
    decide(step, thai, "th")
    assert step.stats["whitespace_words_th"].total == 1
    strict = recipe_step("gopher_repetition", missing_tokenizer="error")
    with pytest.raises(FinemillError, match=r"language tha_Thai: .*pip install pythainlp"):
        strict.for_language("th")


def test_recipe_overrides_a_language_value_and_rejects_unknown_keys():
    strict = recipe_step("gopher_quality", per_language={"fr": {"min_avg_word_length": 9}})
    assert decide(strict, FRENCH, "fr") == "gopher_below_avg_threshold"
    with pytest.raises(FinemillError, match="per_language.fr.dup_line_frac"):
        recipe_step("gopher_quality", per_language={"fr": {"dup_line_frac": 0.1}})


def test_settings_off_is_the_english_filter_unchanged():
    ours = step_class("gopher_quality")()
    theirs = DatatroveGopherQuality()
    doc = Document(text=FRENCH.replace("Le ", "The "), id="x", metadata={"language": "fr"})
    assert ours.language_settings == "off"
    assert ours.filter(doc) == theirs.filter(doc)
