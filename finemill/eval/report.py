"""`finemill eval` output: a rich table on the terminal, results.json and items.jsonl on disk."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from finemill.tokenize.manifest import write_json_atomic


def _pct(x: float) -> str:
    return "-" if x is None or math.isnan(x) else f"{100 * x:.1f}"


def results_table(results: dict[str, Any]) -> Table:
    table = Table(title="Benchmarks (zero-shot, lm-eval formats; % of items)", title_justify="left")
    for name, justify in [
        ("task", "left"),
        ("n", "right"),
        ("acc", "right"),
        ("acc_norm", "right"),
        ("± stderr", "right"),
        ("chance", "right"),
        ("centered", "right"),
        ("gold bpb", "right"),
    ]:
        table.add_column(name, justify=justify)
    for name, s in results["tasks"].items():
        acc, acc_norm = _pct(s["acc"]), _pct(s["acc_norm"])
        if s["metric"] == "acc_norm":
            acc_norm = f"[bold]{acc_norm}[/bold]"
        else:
            acc = f"[bold]{acc}[/bold]"
        gold_bpb = f"{s['gold_bpb']:.4f}" if s.get("gold_bpb") is not None else ""
        table.add_row(
            name,
            f"{s['n']:,}",
            acc,
            acc_norm,
            _pct(s["stderr"]),
            _pct(s["chance"]),
            _pct(s["centered"]),
            gold_bpb,
        )
    if results["tasks"]:
        table.add_section()
        table.add_row("aggregate", "", "", "", "", "", f"[bold]{_pct(results['aggregate'])}[/bold]", "")
    return table


def print_results(results: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    if results["tasks"]:
        console.print(results_table(results))
        console.print(
            "bold: the task's headline score; centered = (score - chance) / (1 - chance); "
            "aggregate = mean centered score"
        )
    bpb = results.get("bpb")
    if bpb:
        console.print(
            f"bits per byte: [bold]{bpb['bits_per_byte']:.4f}[/bold] on {bpb['documents']:,} documents "
            f"of {bpb['source']} ({bpb['tokens']:,} tokens, {bpb['bytes']:,} bytes; "
            f"loss {bpb['loss']:.4f} nats/token)"
        )


def _no_nan(value: Any) -> Any:
    """NaN (a standard error of one item, an empty task) as JSON null: strict JSON readers refuse NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def write_results(results: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """results.json (everything but the per-item records) and items.jsonl (one record per line, with its task)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = _no_nan({k: v for k, v in results.items() if k != "items"})
    results_path = out_dir / "results.json"
    write_json_atomic(results_path, summary)
    items_path = out_dir / "items.jsonl"
    tmp = items_path.with_name(f".{items_path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for task, records in results.get("items", {}).items():
            for r in records:
                f.write(json.dumps({"task": task, **r}) + "\n")
    tmp.replace(items_path)
    return results_path, items_path
