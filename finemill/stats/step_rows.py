"""The rows of the steps table (read, each step, its reasons and detected languages), once for both the
terminal table (`stats/table.py`) and the HTML report (`stats/report.py`), which only render them."""

from __future__ import annotations

from dataclasses import dataclass

from finemill.common import human_chars, share
from finemill.stats.summary import StepSummary, Summary

MAX_LANGUAGES = 8  # detected languages listed per reason; the rest are summed in one row


@dataclass(frozen=True)
class StepRow:
    kind: str  # read, skipped (a record the reader skipped), step, reason, lang, clusters
    label: str
    cells: tuple[str, ...]  # one per STEP_COLUMNS


def _removal(kind: str, label: str, n: int, whole: int, removed: int) -> StepRow:
    return StepRow(kind, label, ("", "", f"{n:,}", share(n, whole), share(n, removed), "", "", ""))


def step_rows(summary: Summary) -> list[StepRow]:
    skipped = sum(summary.skipped.values())
    records = summary.read_docs + skipped
    reader_time = f"{summary.run.stats['reader'].get('time_s', 0):.1f}s"
    rows = [
        StepRow(
            "read",
            "read (records)",
            (
                f"{records:,}",
                f"{summary.read_docs:,}",
                f"{skipped:,}",
                share(skipped, records),
                "",
                "",
                reader_time,
                "",
            ),
        )
    ]
    rows += [_removal("skipped", reason, n, records, skipped) for reason, n in summary.skipped.items()]
    for step in summary.steps:
        rows += _rows_of(step)
        if step.name == "minhash" and summary.clusters is not None:
            rows.append(StepRow("clusters", f"from {summary.clusters.count:,} clusters", ("",) * 8))
    return rows


def _rows_of(step: StepSummary) -> list[StepRow]:
    chars = human_chars(step.chars_removed) if step.chars_removed >= 0 else "?"
    rate = f"{step.docs_per_s:,.0f}" if step.docs_per_s else ""
    cells = (
        f"{step.docs_in:,}",
        f"{step.docs_out:,}",
        f"{step.removed:,}",
        share(step.removed, step.docs_in),
    )
    rows = [StepRow("step", step.name, (*cells, "", chars, f"{step.time_s:.1f}s", rate))]
    for reason, n in step.reasons.items():
        rows.append(_removal("reason", reason, n, step.docs_in, step.removed))
        languages = list(step.by_language.get(reason, {}).items())
        shown = [(f"detected {language}", count) for language, count in languages[:MAX_LANGUAGES]]
        if len(languages) > MAX_LANGUAGES:
            rest = languages[MAX_LANGUAGES:]
            shown.append((f"{len(rest)} other languages", sum(count for _, count in rest)))
        rows += [_removal("lang", label, count, step.docs_in, step.removed) for label, count in shown]
    return rows
