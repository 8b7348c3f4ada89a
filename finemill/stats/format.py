"""How numbers are written for people: shares, character counts, top removal reasons. The run's funnel,
`finemill stats` and the HTML report all write them the same way."""

from __future__ import annotations

# The per-step columns of `finemill stats`, after "step / reason": the terminal table and the HTML report.
STEP_COLUMNS = (
    "docs in",
    "docs out",
    "removed",
    "% of in",
    "% of removed",
    "chars removed",
    "time",
    "docs/s",
)


def share(part: int, whole: int) -> str:
    """`part` as a percentage of `whole`, one decimal ("-" when there is no whole)."""
    return f"{100 * part / whole:.1f}%" if whole else "-"


def human_chars(n: int) -> str:
    """A character count with a k/M/G suffix: 1234567 -> 1.2M."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def top_reasons(removed: dict[str, int], top: int = 2) -> str:
    """The `top` most frequent reasons with their counts: "too_short 1,204, lorem_ipsum 3"."""
    items = sorted(removed.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"{k} {v:,}" for k, v in items)
