"""FineWeb-2's per-language settings, as data: which values each language's filters get.

`fineweb2_languages.json` (beside this module) holds FineWeb-2's per-language values (HuggingFace,
github.com/huggingface/fineweb-2, Apache-2.0; the commit is in the file) for the languages fastText's lid.176
identifies, keyed by lid.176 label, each with FineWeb-2's `iso3_Script` name. It is written by
`benchmarks/data/fineweb2_languages.py`, never at run time. A document's language is the label its language
model gave: lid.176's (`fr`) or GlotLID's (`fra_Latn`); both find the same entry.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

SETTINGS_FILE = "fineweb2_languages.json"


@lru_cache(maxsize=1)
def fineweb2_settings() -> dict[str, Any]:
    """The whole file: `source` (repository, commit, licence), `defaults`, `languages` (lid.176 label ->
    settings with `name`, FineWeb-2's iso3_Script)."""
    text = resources.files("finemill.steps.filters").joinpath(SETTINGS_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _by_name() -> dict[str, str]:
    """FineWeb-2 name (fra_Latn) -> lid.176 label (fr)."""
    return {entry["name"]: label for label, entry in fineweb2_settings()["languages"].items()}


def settings_key(language: str) -> str | None:
    """The entry of a language model's label: lid.176's `fr` or GlotLID's `fra_Latn`; None if it has none."""
    languages = fineweb2_settings()["languages"]
    if language in languages:
        return language
    return _by_name().get(language)


def fineweb2_name(language: str) -> str:
    """FineWeb-2's `iso3_Script` name of a label (`fr` -> `fra_Latn`); a GlotLID label or a language without
    settings is returned as it is."""
    key = settings_key(language)
    return fineweb2_settings()["languages"][key]["name"] if key else language


def language_settings(language: str) -> tuple[dict[str, Any], bool]:
    """(FineWeb-2's values for the language, whether it has its own): the defaults for one without. Only
    the defaults turn the stop-word rule off (`min_stop_words: 0`: there is no list to count)."""
    key = settings_key(language)
    data = fineweb2_settings()
    if key is None:
        return dict(data["defaults"]), False
    return dict(data["languages"][key]), True


def is_glotlid_label(label: str) -> bool:
    """GlotLID's labels name the script (`fra_Latn`); lid.176's do not (`fr`, `ceb`)."""
    return "_" in label
