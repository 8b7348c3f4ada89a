"""Why a document was removed, in numbers: the measure a filter took, against the threshold it used.

The numbers come from the filters themselves: each filter step states its rules once, as `checks(doc)`
(`finemill.steps.filters.checks`), and decides from those checks; here the same checks run again on the
document's text, so what is shown is what the filter compared. The filter is built with the run's recipe
settings (work/run.json), so a changed setting shows up here too. Reasons without a number (blocklists,
lorem ipsum, no main text) get a sentence and the evidence found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from datatrove.data import Document

from finemill.errors import FinemillError
from finemill.pipeline.registry import EXTRACT_STEPS, STEPS
from finemill.steps.filters.checks import COMPARE, Check, MeasuredFilter, all_checks


@dataclass
class Measure:
    """`value` against `threshold`: the filter removes the document when `value removes_when threshold`."""

    label: str
    value: float | None = None
    threshold: float | None = None
    removes_when: str = ""
    evidence: str = ""

    @classmethod
    def of(cls, check: Check) -> Measure:
        """A filter's numeric check, for display."""
        return cls(check.label, check.value, check.threshold, check.removes_when, _words(check.found))

    @property
    def removes(self) -> bool | None:
        """Whether this measure alone removes the document (None: no number to compare)."""
        if self.value is None or self.threshold is None or self.removes_when not in COMPARE:
            return None
        return COMPARE[self.removes_when](self.value, self.threshold)

    def __str__(self) -> str:
        if self.removes is None:
            return f"{self.label}: {self.evidence}" if self.evidence else self.label
        value, threshold = _numbers(self.value, self.threshold)
        comparison = f"{self.removes_when} {threshold}"
        if self.removes:
            text = f"{self.label}: {value} {comparison} (threshold)"
        else:
            text = f"{self.label}: {value} (passes; removed when {comparison})"
        return f"{text}; {self.evidence}" if self.evidence else text


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
    """Measures of documents, with each step's filter built once from the run's settings."""

    def __init__(self, params: dict[str, dict]) -> None:
        self.params = params
        self._filters: dict[str, Any] = {}

    def filter_for(self, step: str) -> Any | None:
        if step not in self._filters:
            self._filters[step] = _build_filter(step, self.params.get(step, {}))
        return self._filters[step]

    def checks(
        self, step: str, text: str, url: str | None = None, metadata: dict | None = None
    ) -> list[Check] | None:
        """Every check of the step's filter on this text; None for a step that measures nothing (extraction,
        MinHash). `metadata`: the document's (its language, for filters with settings per language; a
        classifier's threshold). Raises FinemillError when the step's filter cannot be built here."""
        if _measuring_class(step) is None:
            return None
        f = self.filter_for(step)
        if f is None:
            raise FinemillError("the step's filter cannot be built here")
        metadata = metadata or {}
        doc = Document(text=text, id="explain", metadata={"url": url} if url else {})
        if metadata.get("language"):  # the document's, for filters with settings per language
            doc.metadata["language"] = metadata["language"]
        if "quality_threshold" in metadata:  # a top_fraction step's threshold for this document
            doc.metadata["quality_threshold"] = metadata["quality_threshold"]
        return all_checks(f.checks(doc))

    def explain(
        self, step: str, reason: str | None, text: str, url: str | None = None, metadata: dict | None = None
    ) -> list[Measure]:
        """The measure behind `reason`; for a kept document (reason None) every measure of the step."""
        metadata = metadata or {}
        failure = ""
        try:
            checks = self.checks(step, text, url, metadata)
        except FinemillError as e:
            checks, failure = None, f"not measured: {e}"
        except Exception as e:  # a measure must never stop a report; say what happened instead
            checks, failure = None, f"not measured: {type(e).__name__}: {e}"
        if reason is None:
            return [Measure.of(c) for c in checks or () if c.value is not None]
        check = next((c for c in checks or () if c.reason == reason), None)
        if check is not None and check.value is not None:
            return [Measure.of(check)]
        measure = self._evidence(step, reason, text, check, metadata)
        if failure:
            measure.evidence = "; ".join(filter(None, (measure.evidence, failure)))
        return [measure]

    def _evidence(self, step: str, reason: str, text: str, check: Check | None, metadata: dict) -> Measure:
        """A reason without a number: its description, and what the filter found (a line, banned words)."""
        description = DESCRIPTIONS.get(reason, reason.replace("_", " "))
        if check is not None and reason in ("lorem_ipsum", "curly_bracket") and check.found:
            return Measure(description, evidence=f"line: {next(iter(check.found))[:120]!r}")
        if check is not None and check.found:
            return Measure(description, evidence=_words(check.found))
        if step == "minhash":
            size = metadata.get("minhash_cluster_size")
            cluster = metadata.get("minhash_cluster_id")
            evidence = f"cluster {cluster}, {size} documents" if size is not None else ""
            return Measure(description, evidence=evidence)
        if step in EXTRACT_STEPS:
            return Measure(description, evidence=f"page of {len(text):,} characters of HTML")
        return Measure(description)


def _measuring_class(step: str) -> type[MeasuredFilter] | None:
    """The step's filter class if its filter measures (has `checks`). Extractors and steps that remove
    nothing are not imported to find out (trafilatura, presidio take seconds to import)."""
    entry = STEPS.get(step)
    if entry is None or entry.extracts or not entry.removes:
        return None
    cls = entry.load()
    return cls if isinstance(cls, type) and issubclass(cls, MeasuredFilter) else None


def _build_filter(step: str, params: dict) -> Any | None:
    """The step's filter with the run's settings, without its exclusion writer; None if the step does not
    measure, or its filter cannot be built here (no language model, a setting of another finemill version)."""
    cls = _measuring_class(step)
    if cls is None:
        return None
    try:
        return cls(**params)
    except FinemillError:
        if step == "language" and params.get("model"):  # the run's model file is not on this machine
            return _build_filter(step, {k: v for k, v in params.items() if k != "model"})
        return None
    except (TypeError, ValueError):
        return None


def _words(found: Any) -> str:
    return ", ".join(sorted(found)) if found else ""


def _numbers(value: float, threshold: float) -> tuple[str, str]:
    """Both numbers written with enough digits to tell them apart: 0.64999 is not shown as 0.65 beside 0.65."""
    for digits in range(3, 10):
        shown = _number(value, digits), _number(threshold, digits)
        if shown[0] != shown[1] or value == threshold:
            return shown
    return shown


def _number(value: float, digits: int = 3) -> str:
    """Integers with thousands separators; other numbers to `digits` decimals (1 and more) or significant
    digits (below 1, never in exponent form), trailing zeros dropped: 12.346, 0.04, 0.000312."""
    value = float(value)
    if value.is_integer():
        return f"{int(value):,}"
    if abs(value) >= 1:
        return f"{value:,.{digits}f}".rstrip("0").rstrip(".")
    return np.format_float_positional(value, precision=digits, fractional=False, trim="-")
