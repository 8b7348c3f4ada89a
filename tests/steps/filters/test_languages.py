"""FineWeb-2's per-language settings carried as data: attribution, the lid.176 -> iso3_Script mapping."""

from __future__ import annotations

from finemill.steps.dedup.minhash.signature import language_key
from finemill.steps.filters.language import find_lid_model, load_fasttext
from finemill.steps.filters.languages import (
    fineweb2_name,
    fineweb2_settings,
    language_settings,
    settings_key,
)

KEYS = {
    "dup_line_frac",
    "dup_n_grams",
    "top_n_grams",
    "line_punct_thr",
    "new_line_ratio",
    "min_avg_word_length",
    "max_avg_word_length",
    "max_non_alpha_words_ratio",
    "stopwords",
}


def lid176_labels() -> list[str]:
    return [label.removeprefix("__label__") for label in load_fasttext(find_lid_model()).get_labels()]


def test_file_names_its_source_commit_and_licence():
    source = fineweb2_settings()["source"]
    assert source["repository"] == "https://github.com/huggingface/fineweb-2"
    assert source["license"] == "Apache-2.0" and len(source["commit"]) == 40


def test_every_lid176_language_has_settings_or_is_listed_without():
    data = fineweb2_settings()
    labels = lid176_labels()
    assert set(labels) == set(data["languages"]) | set(data["without_settings"])
    assert len(data["languages"]) >= 170
    for entry in data["languages"].values():
        assert KEYS <= set(entry)


def test_lid176_and_glotlid_labels_find_the_same_entry():
    assert fineweb2_name("fr") == "fra_Latn" and settings_key("fra_Latn") == "fr"
    assert fineweb2_name("als") == "gsw_Latn"  # lid.176's als is Alemannic Wikipedia
    assert language_settings("fra_Latn") == language_settings("fr")
    assert language_settings("fr")[0]["language_score"] == 0.824  # FineWeb-2's configs/fra_Latn.yml
    assert fineweb2_name("xyz_Latn") == "xyz_Latn" and not language_settings("xyz_Latn")[1]


def test_language_keys_never_collide():
    names = lid176_labels() + [entry["name"] for entry in fineweb2_settings()["languages"].values()]
    for precision in (32, 64):
        assert len({language_key(name, precision) for name in names}) == len(set(names))
