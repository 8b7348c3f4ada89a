"""Terminal output of `finemill stats` and `finemill inspect` (rich tables).

Number formats are those of the end-of-run funnel (`finemill.pipeline.funnel`), so the two read alike.
Page text is untrusted: it goes through `rich.text.Text` (never parsed as markup) after its control
characters are replaced, so a page cannot move the cursor or recolour the terminal.
"""

from __future__ import annotations

import re

from rich.console import Console, Group
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from finemill.common import human_chars, share
from finemill.pipeline.funnel import language_table
from finemill.pipeline.registry import EXTRACT_STEPS
from finemill.stats.dedup import Clusters
from finemill.stats.explain import Measure
from finemill.stats.format import STEP_COLUMNS
from finemill.stats.sample import Example
from finemill.stats.step_rows import step_rows
from finemill.stats.summary import Summary

TOP_LANGUAGES = 12  # rows of the language table; the rest are summed in one row
MAX_LINE = 300  # characters shown of one line of an example: a paragraph, not a whole page
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def make_console(console: Console | None = None) -> Console:
    console = console or Console()
    if not console.is_terminal:
        console.width = max(console.width, 132)  # a log file or pipe: do not squeeze columns away
    return console


def clean(text: str) -> str:
    """Untrusted text made safe for a terminal: control characters (escape sequences) replaced."""
    return CONTROL.sub("\ufffd", text)


# --- finemill stats OUT
def stats_renderables(summary: Summary) -> list:
    parts: list = [
        _title(summary),
        _heading("Documents through the recipe, and why they were removed"),
        steps_table(summary),
    ]
    if summary.languages:
        seen = sum(summary.languages.values())
        parts += [
            _heading(
                f"Languages detected by the language step ({seen:,} documents; removed = removed by it)"
            ),
            languages_table(summary),
        ]
    if summary.run.stats.get("languages"):  # a multilingual run: each language's own funnel
        parts += [
            _heading("Each language's funnel (documents of the language after each step)"),
            language_table(summary.run.stats["languages"]),
        ]
    if summary.clusters is not None:
        parts += [_heading(_clusters_heading(summary.clusters, summary))]
        if summary.clusters.sizes:
            parts.append(clusters_table(summary.clusters))
    parts.append(Text(_kept_line(summary)))
    parts.extend(Text(f"warning: {w}", style="yellow") for w in summary.warnings)
    return parts


def print_stats(summary: Summary, console: Console | None = None) -> None:
    console = make_console(console)
    for part in stats_renderables(summary):
        console.print(part)


def _title(summary: Summary) -> Text:
    stats = summary.run.stats
    inputs = stats.get("inputs", [])
    return Text.assemble(
        ("finemill stats ", "bold"),
        (str(summary.run.path), "bold cyan"),
        f"  recipe {stats.get('recipe', '?')}, dump {stats.get('dump', '?')}, {len(inputs)} input file(s), "
        f"{stats.get('workers', '?')} worker(s), {stats.get('wall_time_s', 0):.1f} s wall",
    )


def _heading(text: str) -> Text:
    return Text("\n" + text, style="bold")


def steps_table(summary: Summary) -> Table:
    table = Table()
    table.add_column("step / reason", no_wrap=True)
    for column in STEP_COLUMNS:
        table.add_column(column, justify="right", no_wrap=True)
    for row in step_rows(summary):
        if row.kind == "step":
            table.add_section()
        label, style = _TERMINAL_LABELS[row.kind]
        table.add_row(Text(label.format(row.label), style=style or ""), *row.cells, style=style)
    return table


# how each kind of row's label looks on the terminal: (format, style)
_TERMINAL_LABELS = {
    "read": ("{}", "bold"),
    "skipped": ("  {}", "dim"),
    "step": ("{}", "bold"),
    "reason": ("  {}", None),
    "lang": ("    {}", "dim"),
    "clusters": ("    {} (sizes below)", "dim"),
}


def languages_table(summary: Summary) -> Table:
    """Languages the language step detected, with how many of each it removed."""
    removed: dict[str, int] = {}
    for step in summary.steps:
        for by_language in step.by_language.values():
            for language, n in by_language.items():
                removed[language] = removed.get(language, 0) + n
    seen = sum(summary.languages.values())
    table = Table()
    for column, justify in (
        ("language", "left"),
        ("documents", "right"),
        ("share", "right"),
        ("removed", "right"),
        ("passed", "right"),
    ):
        table.add_column(column, justify=justify, no_wrap=True)
    rows = list(summary.languages.items())
    for language, n in rows[:TOP_LANGUAGES]:
        gone = removed.get(language, 0)
        table.add_row(language, f"{n:,}", share(n, seen), f"{gone:,}", f"{n - gone:,}")
    if len(rows) > TOP_LANGUAGES:
        rest = rows[TOP_LANGUAGES:]
        n = sum(v for _, v in rest)
        gone = sum(removed.get(k, 0) for k, _ in rest)
        table.add_row(f"{len(rest)} others", f"{n:,}", share(n, seen), f"{gone:,}", f"{n - gone:,}")
    return table


def _clusters_heading(clusters: Clusters, summary: Summary) -> str:
    minhash = next((s for s in summary.steps if s.name == "minhash"), None)
    removed = minhash.removed if minhash else 0
    return f"MinHash: {removed:,} duplicates removed from {clusters.count:,} clusters (found in {clusters.source})"


def clusters_table(clusters: Clusters) -> Table:
    table = Table()
    table.add_column("cluster size", justify="right")
    table.add_column("clusters", justify="right")
    table.add_column("documents", justify="right")
    table.add_column("", min_width=20)
    rows = clusters.histogram()
    largest = max(n for _, n, _ in rows)
    for label, n, documents in rows:
        table.add_row(label, f"{n:,}", f"{documents:,}", "█" * max(1, round(20 * n / largest)))
    return table


def _kept_line(summary: Summary) -> str:
    return (
        f"kept {summary.kept_docs:,} of {summary.read_docs:,} documents ({share(summary.kept_docs, summary.read_docs)}), "
        f"{human_chars(summary.kept_chars)} of {human_chars(summary.read_chars)} characters "
        f"({share(summary.kept_chars, summary.read_chars)})"
    )


# --- finemill stats RUN_A RUN_B
def compare_table(a: Summary, b: Summary) -> Table:
    table = Table(title=f"A = {a.run.path}   B = {b.run.path}", title_justify="left")
    table.add_column("step / reason", no_wrap=True)
    for column in ("A in", "B in", "A removed", "A %", "B removed", "B %", "B - A", "B - A (pts)"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_row(
        Text("read (documents)", style="bold"),
        f"{a.read_docs:,}",
        f"{b.read_docs:,}",
        "",
        "",
        "",
        "",
        _signed(b.read_docs - a.read_docs),
        "",
    )
    steps_a = {_row_key(s.name): s for s in a.steps}
    steps_b = {_row_key(s.name): s for s in b.steps}
    for key in dict.fromkeys([*steps_a, *steps_b]):
        sa, sb = steps_a.get(key), steps_b.get(key)
        name = " / ".join(dict.fromkeys(s.name for s in (sa, sb) if s))
        table.add_section()
        table.add_row(
            Text(name, style="bold"),
            _n(sa and sa.docs_in),
            _n(sb and sb.docs_in),
            *_pair(sa and sa.removed, sa and sa.docs_in, sb and sb.removed, sb and sb.docs_in),
        )
        reasons = list(dict.fromkeys([*(sa.reasons if sa else {}), *(sb.reasons if sb else {})]))
        for reason in reasons:
            ra = sa.reasons.get(reason, 0) if sa else None
            rb = sb.reasons.get(reason, 0) if sb else None
            table.add_row(f"  {reason}", "", "", *_pair(ra, sa and sa.docs_in, rb, sb and sb.docs_in))
    table.add_section()
    table.add_row(
        Text("kept documents", style="bold"),
        "",
        "",
        *_pair(a.kept_docs, a.read_docs, b.kept_docs, b.read_docs),
    )
    table.add_row(
        Text("kept characters", style="bold"),
        "",
        "",
        human_chars(a.kept_chars),
        share(a.kept_chars, a.read_chars),
        human_chars(b.kept_chars),
        share(b.kept_chars, b.read_chars),
        _signed(b.kept_chars - a.kept_chars),
        "",
    )
    return table


def _row_key(step: str) -> str:
    """Steps compared on one row: the same step, or the extraction steps of two profiles (trafilatura in
    one run, resiliparse in the other), which do the same job and remove for the same reasons."""
    return EXTRACT_STEPS[0] if step in EXTRACT_STEPS else step


def print_compare(a: Summary, b: Summary, console: Console | None = None) -> None:
    console = make_console(console)
    console.print(compare_table(a, b))
    for label, summary in (("A", a), ("B", b)):
        for warning in summary.warnings:
            console.print(Text(f"warning ({label}): {warning}", style="yellow"))


def _pair(na: int | None, ina: int | None, nb: int | None, inb: int | None) -> list[str]:
    cells = [
        _n(na),
        share(na, ina) if na is not None else "",
        _n(nb),
        share(nb, inb) if nb is not None else "",
    ]
    if na is None or nb is None:
        return [*cells, "", ""]
    points = 100 * (nb / inb if inb else 0) - 100 * (na / ina if ina else 0)
    return [*cells, _signed(nb - na), f"{points:+.1f}"]


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _signed(value: int) -> str:
    return f"{value:+,}" if value else "0"


# --- finemill inspect OUT --step STEP
def example_renderable(
    step: str, index: int, total: int, example: Example, measures: list[Measure], excerpt: str, lines: int
) -> Group:
    header = Rule(Text(f"{step} · {example.reason} · {index}/{total}"), align="left", style="cyan")
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold", no_wrap=True)
    fields.add_column()
    fields.add_row("url", Text(clean(example.url or "-")))
    fields.add_row("reason", Text(example.reason))
    for measure in measures:
        fields.add_row("measure", Text(clean(str(measure)), style="red" if measure.removes else ""))
    if example.language:
        score = f" ({example.language_score:.3f})" if example.language_score is not None else ""
        fields.add_row("language", f"{example.language}{score}")
    all_lines = excerpt.splitlines()
    shown = "\n".join(_shorten(line, MAX_LINE) for line in all_lines[:lines])
    label = f"{len(example.text):,} characters; first {min(lines, len(all_lines))} of {len(all_lines)} lines"
    fields.add_row("text", Text(label, style="dim"))
    body = Padding(Text(clean(shown), style="green"), (0, 0, 1, 4))
    return Group(header, fields, body)


def _shorten(line: str, limit: int) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"
