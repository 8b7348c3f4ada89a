"""Filters whose settings follow each document's language, as FineWeb-2 runs them.

With `language_settings: fineweb2`, a filter reads the document's language from its metadata (the language
step's label: `fr`, or GlotLID's `fra_Latn`) and applies the filter as it would be built for that language
alone: the recipe's settings, FineWeb-2's values for the language on top (`finemill.steps.filters.languages`),
the recipe's `per_language` overrides on top of those, and the language's word splitter
(`finemill.text.language_words`). One such copy of the filter is made per language, on first use.

Counters (in stats.json and `finemill stats`): `no_settings_<lang>` for documents of a language without
FineWeb-2 settings (they get the defaults), `whitespace_words_<lang>` for documents whose language's word
splitter is not installed (they are split by datatrove's whitespace fallback).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Literal

from datatrove.data import Document

from finemill.errors import FinemillError
from finemill.steps.filters import fineweb_quality, quality
from finemill.steps.filters.checks import Check
from finemill.steps.filters.languages import fineweb2_name, language_settings
from finemill.text.language_words import language_words

LanguageSettings = Literal["off", "fineweb2"]


def _pairs(value: Any) -> tuple[tuple[int, float], ...]:
    return tuple((int(n), float(frac)) for n, frac in value)


class PerLanguage:
    """Mixin for a finemill filter (before it in the MRO): settings per document language.

    `LANGUAGE_KEYS`: FineWeb-2's name of each per-language value this filter uses -> (the filter's attribute,
    how the value is converted)."""

    LANGUAGE_KEYS: ClassVar[dict[str, tuple[str, Callable[[Any], Any]]]] = {}

    def __init__(
        self,
        language_settings: LanguageSettings = "off",
        per_language: dict[str, dict[str, Any]] | None = None,
        missing_tokenizer: Literal["whitespace", "error"] = "whitespace",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.language_settings = language_settings
        self.per_language = per_language or {}
        self.missing_tokenizer = missing_tokenizer
        for language, values in self.per_language.items():
            unknown = set(values or {}) - set(self.LANGUAGE_KEYS)
            if unknown:
                raise FinemillError(
                    f"per_language.{language}.{sorted(unknown)[0]}: not a per-language value of this step "
                    f"(it has {', '.join(sorted(self.LANGUAGE_KEYS))})"
                )
        self._by_language: dict[str, Any] = {}

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self.language_settings == "off":
            return super().filter(doc)
        language = doc.metadata.get("language") or "unknown"
        step, own, how = self.for_language(language)
        if not own:
            self.stat_update(f"no_settings_{language}")
        if how == "whitespace":
            self.stat_update(f"whitespace_words_{language}")
        for check in step.checks(doc):
            if check.removes:
                return False, check.reason
        return True

    def checks(self, doc: Document) -> Iterator[Check]:
        if self.language_settings == "off":
            yield from super().checks(doc)
            return
        step, _, _ = self.for_language(doc.metadata.get("language") or "unknown")
        yield from step.checks(doc)

    def for_language(self, language: str) -> tuple[Any, bool, str]:
        """(this filter as built for `language`, whether FineWeb-2 has its settings, how its words are
        split), made once per language."""
        found = self._by_language.get(language)
        if found is None:
            found = self._by_language[language] = self._build(language)
        return found

    def _build(self, language: str) -> tuple[Any, bool, str]:
        values, own = language_settings(language)
        values.update(self.per_language.get(language) or {})
        step = copy.copy(self)
        step.language_settings = "off"
        step._by_language = {}
        for key, (attribute, convert) in self.LANGUAGE_KEYS.items():
            if key in values:
                setattr(step, attribute, convert(values[key]))
        name = fineweb2_name(language)
        words = language_words(name, strict=self.missing_tokenizer == "error")
        # `words: spacy` keeps datatrove's own splitter: the name datatrove's table knows the language by
        step.language = words.splitter if getattr(self, "words", "fast") == "fast" else name
        return step, own, words.how


class GopherRepetitionFilter(PerLanguage, quality.GopherRepetitionFilter):
    """`gopher_repetition`: with `language_settings: fineweb2`, FineWeb-2's repeated line and n-gram limits."""

    LANGUAGE_KEYS: ClassVar[dict[str, tuple[str, Callable[[Any], Any]]]] = {
        "dup_line_frac": ("dup_line_frac", float),
        "top_n_grams": ("top_n_grams", _pairs),
        "dup_n_grams": ("dup_n_grams", _pairs),
    }


class GopherQualityFilter(PerLanguage, quality.GopherQualityFilter):
    """`gopher_quality`: with `language_settings: fineweb2`, FineWeb-2's word lengths, share of words with a
    letter and stop words."""

    LANGUAGE_KEYS: ClassVar[dict[str, tuple[str, Callable[[Any], Any]]]] = {
        "min_avg_word_length": ("min_avg_word_length", float),
        "max_avg_word_length": ("max_avg_word_length", float),
        "max_non_alpha_words_ratio": ("max_non_alpha_words_ratio", float),
        "stopwords": ("stop_words", set),
        "min_stop_words": ("min_stop_words", int),
    }


class FineWebQualityFilter(PerLanguage, fineweb_quality.FineWebQualityFilter):
    """`fineweb_quality`: with `language_settings: fineweb2`, FineWeb-2's line punctuation and newline ratios."""

    LANGUAGE_KEYS: ClassVar[dict[str, tuple[str, Callable[[Any], Any]]]] = {
        "line_punct_thr": ("line_punct_thr", float),
        "new_line_ratio": ("new_line_ratio", float),
    }
