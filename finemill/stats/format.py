"""The per-step columns of `finemill stats`: the terminal table and the HTML report write the same ones
(numbers themselves are written by `finemill.common`)."""

from __future__ import annotations

# after the "step / reason" column
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
