"""What a filter measured, against which threshold: the one record both the decision and its display read.

A filter with measures implements `checks(doc)`, a generator of `Check`s in the order it applies its rules;
`MeasuredFilter.filter` removes the document at the first check that says `removes`. `finemill inspect` and
the HTML report show the same checks, so the number shown is the number the filter compared.
The generator is lazy: `filter` stops at the first removing check, and costly measures (n-grams, the
language model) run only when the earlier rules passed, as in datatrove's filters.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

from datatrove.data import Document

COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True, slots=True)
class Check:
    """One rule applied to one document. With a number: removes when `value removes_when threshold`.
    Without (`value` None): a rule that fired (lorem ipsum, a blocklisted domain); it always removes, and
    `found` holds what was found (the line, the banned words)."""

    reason: str  # the removal reason the filter records
    label: str  # what was measured, in words
    value: float | None = None
    threshold: float | None = None
    removes_when: str = ""  # one of COMPARE's keys
    found: Collection[str] = ()

    @property
    def removes(self) -> bool:
        if self.value is None:
            return True
        return COMPARE[self.removes_when](self.value, self.threshold)


class MeasuredFilter:
    """Mixin for a datatrove BaseFilter: `filter` decided from `checks`."""

    def checks(self, doc: Document) -> Iterator[Check]:
        """The filter's checks on `doc`, in its order; rules switched off in the settings are left out."""
        raise NotImplementedError

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        for check in self.checks(doc):
            if check.removes:
                return False, check.reason
        return True


def all_checks(checks: Iterator[Check]) -> list[Check]:
    """Every check a document gets when no rule stops it, for display. A later measure may be undefined on a
    text an earlier rule removes (a division by zero words); the checks up to it are returned."""
    found: list[Check] = []
    try:
        for check in checks:
            found.append(check)
    except (ArithmeticError, ValueError):
        pass
    return found
