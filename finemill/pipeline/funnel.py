"""The funnel printed at the end of a run: documents and characters kept after each step."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from finemill.common import human_chars, share, top_reasons
from finemill.pipeline.language_funnel import language_rows

COLUMNS = ("step", "docs in", "docs out", "removed", "chars out", "time", "docs/s", "top reasons")


def funnel_table(stats: dict) -> Table:
    reader = stats["reader"]
    table = Table(
        title=f"finemill run: {stats['recipe']} ({reader['files']} file(s), {stats['wall_time_s']:.1f} s wall)"
    )
    table.add_column(COLUMNS[0], no_wrap=True)
    for column in COLUMNS[1:-1]:
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column(COLUMNS[-1], ratio=1)
    for row in funnel_rows(stats):
        table.add_row(*row)
    return table


def funnel_rows(stats: dict) -> list[tuple[str, ...]]:
    """The funnel's rows as text, one per step after the reader's, in `COLUMNS` order (the terminal table
    and the dataset card both show these)."""
    reader = stats["reader"]
    skipped = reader["skipped"]
    rows = [
        (
            "read",
            f"{reader['documents'] + sum(skipped.values()):,}",
            f"{reader['documents']:,}",
            share(sum(skipped.values()), reader["documents"] + sum(skipped.values())),
            human_chars(reader["chars"]),
            f"{reader['time_s']:.1f}s",
            "",
            top_reasons(skipped),
        )
    ]
    for step in stats["steps"]:
        removed = step["docs_in"] - step["docs_out"]
        rows.append(
            (
                step["name"],
                f"{step['docs_in']:,}",
                f"{step['docs_out']:,}",
                share(removed, step["docs_in"]),
                human_chars(step["chars_out"]),
                f"{step['time_s']:.1f}s",
                f"{step['docs_per_s']:,.0f}" if step["docs_per_s"] else "",
                top_reasons(step["removed"]),
            )
        )
    return rows


def print_funnel(stats: dict, console: Console | None = None) -> None:
    console = console or Console()
    if not console.is_terminal:
        console.width = max(console.width, 132)  # a log file or pipe: do not squeeze the reasons away
    console.print(funnel_table(stats))
    kept, read = stats["documents"]["count"], stats["reader"]["documents"]
    busy = stats["reader"]["time_s"] + sum(step["time_s"] for step in stats["steps"])
    console.print(
        f"kept {kept:,} of {read:,} documents ({share(kept, read)}), {human_chars(stats['documents']['chars'])} "
        f"characters; {read / busy if busy else 0:,.1f} docs/s per busy core"
    )
    for line in skipped_lines(stats):
        console.print(line, markup=False, highlight=False)
    if stats.get("languages"):
        console.print(language_table(stats["languages"]))


def language_table(funnel: dict) -> Table:
    """A multilingual run's funnel per language: documents after the language step and each step after it."""
    header, rows = language_rows(funnel)
    table = Table(title=f"per language ({len(funnel)} languages; largest {len(rows)})")
    for i, column in enumerate(header):
        table.add_column(column, justify="left" if i == 0 else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table


def skipped_lines(stats: dict, shown: int = 5) -> list[str]:
    """What the run did not do: recipe steps it skipped, and files of the input folders it did not read."""
    lines = [f"{name}: skipped, {reason}" for name, reason in stats.get("steps_skipped", {}).items()]
    files = stats.get("inputs_skipped", {})
    if files:
        listed = "; ".join(f"{name} ({reason})" for name, reason in list(files.items())[:shown])
        more = f"; and {len(files) - shown:,} more (stats.json inputs_skipped)" if len(files) > shown else ""
        lines.append(f"not read: {len(files):,} input file(s): {listed}{more}")
    return lines
