"""The funnel printed at the end of a run: documents and characters kept after each step."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def funnel_table(stats: dict) -> Table:
    reader = stats["reader"]
    table = Table(title=f"finemill run: {stats['recipe']} ({reader['files']} file(s), {stats['wall_time_s']:.1f} s wall)")
    table.add_column("step", no_wrap=True)
    for column in ("docs in", "docs out", "removed", "chars out", "time", "docs/s"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("top reasons", ratio=1)
    skipped = reader["skipped"]
    table.add_row(
        "read", f"{reader['documents'] + sum(skipped.values()):,}", f"{reader['documents']:,}",
        _share(sum(skipped.values()), reader["documents"] + sum(skipped.values())),
        _chars(reader["chars"]), f"{reader['time_s']:.1f}s", "", _reasons(skipped),
    )
    for step in stats["steps"]:
        removed = step["docs_in"] - step["docs_out"]
        table.add_row(
            step["name"], f"{step['docs_in']:,}", f"{step['docs_out']:,}", _share(removed, step["docs_in"]),
            _chars(step["chars_out"]), f"{step['time_s']:.1f}s",
            f"{step['docs_per_s']:,.0f}" if step["docs_per_s"] else "", _reasons(step["removed"]),
        )
    return table


def print_funnel(stats: dict, console: Console | None = None) -> None:
    console = console or Console()
    if not console.is_terminal:
        console.width = max(console.width, 132)  # a log file or pipe: do not squeeze the reasons away
    console.print(funnel_table(stats))
    kept, read = stats["documents"]["count"], stats["reader"]["documents"]
    busy = stats["reader"]["time_s"] + sum(step["time_s"] for step in stats["steps"])
    console.print(
        f"kept {kept:,} of {read:,} documents ({_share(kept, read)}), {_chars(stats['documents']['chars'])} "
        f"characters; {read / busy if busy else 0:,.1f} docs/s per busy core"
    )


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _chars(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _reasons(removed: dict, top: int = 2) -> str:
    items = sorted(removed.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"{k} {v:,}" for k, v in items)
