"""Why a document was removed, in numbers: the measure a filter took, against the threshold it used.

One table, `RULES`, maps (step, reason) to a measure function and the filter attribute holding the
threshold. Measures are recomputed with datatrove's own helpers (word splitter, duplicate finders,
n-grams, the fastText model) so they agree with the filter; thresholds are read from a filter object
built with the run's recipe settings (work/run.json), so a changed setting shows up here too.
Reasons without a number (blocklists, lorem ipsum, no main text) get a sentence and the evidence found.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from datatrove.data import Document
from datatrove.pipeline.filters.gopher_repetition_filter import (
    find_all_duplicate,
    find_duplicates,
    find_top_duplicate,
    get_n_grams,
)
from datatrove.pipeline.filters.url_filter import normalizer as url_word_splitter
from datatrove.utils.text import PUNCTUATION_SET, split_into_sentences, split_into_words

from finemill.errors import FinemillError
from finemill.pipeline.registry import EXTRACT_STEPS

COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


@dataclass
class Measure:
    """`value` against `threshold`: the filter removes the document when `value removes_when threshold`."""

    label: str
    value: float | None = None
    threshold: float | None = None
    removes_when: str = ""
    evidence: str = ""

    @property
    def removes(self) -> bool | None:
        """Whether this measure alone removes the document (None: no number to compare)."""
        if self.value is None or self.threshold is None or self.removes_when not in COMPARE:
            return None
        return COMPARE[self.removes_when](self.value, self.threshold)

    def __str__(self) -> str:
        if self.removes is None:
            return f"{self.label}: {self.evidence}" if self.evidence else self.label
        comparison = f"{self.removes_when} {_number(self.threshold)}"
        if self.removes:
            text = f"{self.label}: {_number(self.value)} {comparison} (threshold)"
        else:
            text = f"{self.label}: {_number(self.value)} (passes; removed when {comparison})"
        return f"{text}; {self.evidence}" if self.evidence else text


@dataclass(frozen=True)
class Rule:
    label: str | Callable[[Any], str]  # what is measured; a function of the filter when it names a setting
    measure: Callable[[str, Any], float]  # (text, filter object) -> value
    threshold: Callable[[Any], float | None]  # filter object -> threshold (None: rule switched off)
    removes_when: str | Callable[[Any], str]


def _attr(name: str) -> Callable[[Any], float | None]:
    return lambda f: getattr(f, name, None)


@lru_cache(maxsize=16)
def _words(text: str, language: str) -> tuple[str, ...]:
    return tuple(split_into_words(text, language))


def _non_symbol_words(text: str, f: Any) -> list[str]:
    return [w for w in _words(text, f.language) if any(ch not in PUNCTUATION_SET for ch in w)]


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _line_share(text: str, test: Callable[[str], bool]) -> float:
    lines = text.splitlines()
    return _share(sum(test(line) for line in lines), len(lines))


# --- gopher_repetition: datatrove's splitting and duplicate finders, on the filter's own regexes.
def _paragraph_dups(text: str, f: Any) -> tuple[int, int, int]:
    paragraphs = f.paragraph_exp.split(text.strip())
    return (*find_duplicates(paragraphs), len(paragraphs))


def _line_dups(text: str, f: Any) -> tuple[int, int, int]:
    lines = f._line_splitter.split(text)
    return (*find_duplicates(lines), len(lines))


def _top_ngram(n: int) -> Callable[[str, Any], float]:
    def measure(text: str, f: Any) -> float:
        n_grams = get_n_grams(list(_words(text, f.language)), n)
        return _share(find_top_duplicate(n_grams), len(text)) if n_grams else 0.0
    return measure


def _dup_ngram(n: int) -> Callable[[str, Any], float]:
    return lambda text, f: _share(find_all_duplicate(list(_words(text, f.language)), n), len(text))


# --- c4_quality: run the filter itself with the sentence minimum off; it returns the lines it keeps.
def _c4_sentences(text: str, f: Any) -> float:
    probe = copy.copy(f)
    probe.min_num_sentences = -1
    doc = Document(text=text, id="probe")
    if probe.filter(doc) is not True:
        return 0
    if not f.split_paragraph:  # kept sentences were joined with spaces: split them again
        return len(split_into_sentences(doc.text, f.language)) if doc.text else 0
    return sum(len(split_into_sentences(line, f.language)) for line in doc.text.split("\n") if line)


# --- fineweb_quality: `rules: fineweb` counts empty lines and compares with <= / >=; datatrove's doesn't.
def _fineweb_rules(f: Any) -> bool:
    return getattr(f, "rules", "datatrove") == "fineweb"


def _fw_lines(text: str, f: Any) -> list[str]:
    lines = text.split("\n")
    return lines if _fineweb_rules(f) else [line for line in lines if line.strip()]


def _fw_char_dups(text: str, f: Any) -> float:
    non_empty = [line for line in text.split("\n") if line.strip()]
    return _share(find_duplicates(non_empty)[1], max(len(text.replace("\n", "")), 1))


# --- language: the run's fastText model, scores of the languages the step keeps.
def _language_score(text: str, f: Any) -> float:
    best, scores = f.model.predict(Document(text=text, id="probe"))
    return max(scores.values()) if f.languages else best[1]


RULES: dict[str, dict[str, Rule]] = {
    "language": {
        "below_threshold": Rule(lambda f: f"score of {'/'.join(f.languages)}" if f.languages else "language score",
                                _language_score, _attr("language_threshold"), "<="),
    },
    "gopher_repetition": {
        "dup_para_frac": Rule("share of duplicated paragraphs",
                              lambda t, f: _share(_paragraph_dups(t, f)[0], _paragraph_dups(t, f)[2]),
                              _attr("dup_para_frac"), ">"),
        "dup_para_char_frac": Rule("characters in duplicated paragraphs / all",
                                   lambda t, f: _share(_paragraph_dups(t, f)[1], len(t)),
                                   _attr("dup_para_char_frac"), ">"),
        "dup_line_frac": Rule("share of duplicated lines",
                              lambda t, f: _share(_line_dups(t, f)[0], _line_dups(t, f)[2]),
                              _attr("dup_line_frac"), ">"),
        "dup_line_char_frac": Rule("characters in duplicated lines / all",
                                   lambda t, f: _share(_line_dups(t, f)[1], len(t)),
                                   _attr("dup_line_char_frac"), ">"),
        **{f"top_{n}_gram": Rule(f"characters in the most frequent {n}-gram / all", _top_ngram(n),
                                 lambda f, n=n: dict(f.top_n_grams).get(n), ">") for n in range(2, 5)},
        **{f"duplicated_{n}_n_grams": Rule(f"characters in repeated {n}-grams / all", _dup_ngram(n),
                                           lambda f, n=n: dict(f.dup_n_grams).get(n), ">") for n in range(5, 11)},
    },
    "gopher_quality": {
        "gopher_short_doc": Rule("words (not only punctuation)", lambda t, f: len(_non_symbol_words(t, f)),
                                 _attr("min_doc_words"), "<"),
        "gopher_long_doc": Rule("words (not only punctuation)", lambda t, f: len(_non_symbol_words(t, f)),
                                _attr("max_doc_words"), ">"),
        "gopher_below_avg_threshold": Rule(
            "mean word length", lambda t, f: _share(sum(map(len, _non_symbol_words(t, f))),
                                                    len(_non_symbol_words(t, f))),
            _attr("min_avg_word_length"), "<"),
        "gopher_above_avg_threshold": Rule(
            "mean word length", lambda t, f: _share(sum(map(len, _non_symbol_words(t, f))),
                                                    len(_non_symbol_words(t, f))),
            _attr("max_avg_word_length"), ">"),
        "gopher_too_many_hashes": Rule("'#' per word", lambda t, f: _share(t.count("#"), len(_words(t, f.language))),
                                       _attr("max_symbol_word_ratio"), ">"),
        "gopher_too_many_ellipsis": Rule(
            "ellipses per word", lambda t, f: _share(t.count("...") + t.count("…"), len(_words(t, f.language))),
            _attr("max_symbol_word_ratio"), ">"),
        "gopher_too_many_bullets": Rule(
            "share of lines starting with a bullet",
            lambda t, f: _line_share(t, lambda s: s.lstrip().startswith(("•", "-"))),
            _attr("max_bullet_lines_ratio"), ">"),
        "gopher_too_many_end_ellipsis": Rule(
            "share of lines ending with an ellipsis",
            lambda t, f: _line_share(t, lambda s: s.rstrip().endswith(("...", "…"))),
            _attr("max_ellipsis_lines_ratio"), ">"),
        "gopher_below_alpha_threshold": Rule(
            "share of words with a letter",
            lambda t, f: _share(sum(any(c.isalpha() for c in w) for w in _words(t, f.language)),
                                len(_words(t, f.language))),
            _attr("max_non_alpha_words_ratio"), "<"),
        "gopher_enough_stop_words": Rule(
            "distinct stop words (the, be, to, of, ...)", lambda t, f: len(f.stop_words & set(_words(t, f.language))),
            _attr("min_stop_words"), "<"),
    },
    "c4_quality": {
        "too_few_sentences": Rule("sentences in the lines C4 keeps", _c4_sentences, _attr("min_num_sentences"), "<"),
    },
    "fineweb_quality": {
        "line_punct_ratio": Rule(
            "share of lines ending in punctuation",
            lambda t, f: _share(sum(line.endswith(f.stop_chars) for line in _fw_lines(t, f)), len(_fw_lines(t, f))),
            _attr("line_punct_thr"), lambda f: "<=" if _fineweb_rules(f) else "<"),
        "short_line_ratio": Rule(
            "share of short lines",
            lambda t, f: _share(sum(len(line) <= f.short_line_length for line in _fw_lines(t, f)),
                                len(_fw_lines(t, f))),
            _attr("short_line_threshold"), lambda f: ">=" if _fineweb_rules(f) else ">"),
        "char_dup_ratio": Rule("characters in duplicated lines / all", _fw_char_dups,
                               _attr("char_duplicates_ratio"), lambda f: ">=" if _fineweb_rules(f) else ">"),
        "list_ratio": Rule("newlines per word",
                           lambda t, f: _share(t.count("\n"), max(len(_words(t, f.language)), 1)),
                           _attr("new_line_ratio"), ">"),
    },
}

# Reasons without a number to compare: what they mean.
DESCRIPTIONS: dict[str, str] = {
    "domain": "the domain is on datatrove's URL blocklist",
    "subdomain": "the full host name is on datatrove's URL blocklist",
    "url": "the exact URL is on datatrove's URL blocklist",
    "hard_blacklisted": "the URL contains a banned word",
    "soft_blacklisted": "the URL contains too many soft-banned words",
    "blacklisted_subword": "the URL contains a banned subword",
    "no_main_text": "the extractor (trafilatura or resiliparse) found no main text in the page",
    "timeout": "the extractor took longer than the step's timeout",
    "extractor_died": "the extraction process crashed on this page",
    "extractor_error": "the extractor raised an error on this page",
    "lorem_ipsum": "a kept line contains 'lorem ipsum'",
    "curly_bracket": "a kept line contains a curly bracket",
    "empty": "the text is empty",
    "duplicate": "a near-duplicate (MinHash) of a document that was kept",
}


class Explainer:
    """Measures of removed documents, with filters built once per step from the run's settings."""

    def __init__(self, params: dict[str, dict]) -> None:
        self.params = params
        self._filters: dict[str, Any] = {}

    def filter_for(self, step: str) -> Any | None:
        if step not in self._filters:
            self._filters[step] = _build_filter(step, self.params.get(step, {}))
        return self._filters[step]

    def rules(self, step: str) -> dict[str, Rule]:
        return RULES.get(step, {})

    def explain(self, step: str, reason: str | None, text: str, url: str | None = None,
                metadata: dict | None = None) -> list[Measure]:
        """The measure behind `reason`; for a kept document (reason None) every measure of the step."""
        metadata = metadata or {}
        rules = self.rules(step)
        if reason is None:
            return [m for name in rules if (m := self._measure(step, name, text)) is not None]
        if reason in rules:
            measure = self._measure(step, reason, text)
            if measure is not None:
                return [measure]
        return [self._evidence(step, reason, text, url, metadata)]

    def _measure(self, step: str, reason: str, text: str) -> Measure | None:
        rule, f = self.rules(step)[reason], self.filter_for(step)
        if f is None:
            label = rule.label if isinstance(rule.label, str) else reason
            return Measure(label, evidence="not recomputed: the step's filter cannot be built here")
        label = rule.label(f) if callable(rule.label) else rule.label
        threshold = rule.threshold(f)
        if threshold is None or (isinstance(threshold, (int, float)) and threshold < 0):
            return None  # the rule is switched off in this run
        removes_when = rule.removes_when(f) if callable(rule.removes_when) else rule.removes_when
        try:
            value = float(rule.measure(text, f))
        except Exception as e:  # a measure must never stop a report; say what happened instead
            return Measure(label, evidence=f"not recomputed: {type(e).__name__}: {e}")
        return Measure(label, value, float(threshold), removes_when)

    def _evidence(self, step: str, reason: str, text: str, url: str | None, metadata: dict) -> Measure:
        description = DESCRIPTIONS.get(reason, reason.replace("_", " "))
        if reason == "soft_blacklisted" and url and (f := self.filter_for("url_filter")) is not None:
            f.download_data()
            found = sorted(w for w in set(url_word_splitter.split(url)) if w in f.soft_banned_words)
            return Measure("soft-banned words in the URL", len(found), f.soft_word_threshold, ">=", ", ".join(found))
        if reason == "hard_blacklisted" and url and (f := self.filter_for("url_filter")) is not None:
            f.download_data()
            found = sorted(w for w in set(url_word_splitter.split(url)) if w in f.banned_words)
            return Measure(description, evidence=", ".join(found))
        if reason in ("lorem_ipsum", "curly_bracket"):
            needle = "lorem ipsum" if reason == "lorem_ipsum" else "{"
            line = next((s.strip() for s in text.splitlines() if needle in s.lower()), "")
            return Measure(description, evidence=f"line: {line[:120]!r}" if line else "")
        if step == "minhash":
            size = metadata.get("minhash_cluster_size")
            cluster = metadata.get("minhash_cluster_id")
            evidence = f"cluster {cluster}, {size} documents" if size is not None else ""
            return Measure(description, evidence=evidence)
        if step in EXTRACT_STEPS:
            return Measure(description, evidence=f"page of {len(text):,} characters of HTML")
        return Measure(description)


def _build_filter(step: str, params: dict) -> Any | None:
    """The step's filter with the run's settings, without its exclusion writer; None if it cannot be built
    here (no language model, a setting of another finemill version)."""
    from finemill.pipeline.registry import STEPS, step_class

    if step not in STEPS or step in ("minhash", "pii", *EXTRACT_STEPS):
        return None
    try:
        return step_class(step)(**params)
    except FinemillError:
        if step == "language" and params.get("model"):  # the run's model file is not on this machine
            return _build_filter(step, {k: v for k, v in params.items() if k != "model"})
        return None
    except (TypeError, ValueError):
        return None


def _number(value: Any) -> str:
    if value is None:
        return "?"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.3f}".rstrip("0")
