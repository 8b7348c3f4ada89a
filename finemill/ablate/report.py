"""The ablation's report, computed from the per-run results only (OUT/runs/*/seed-*/result.json): per variant
the documents and tokens kept, mean ± std over seeds of bits per byte, of each benchmark and of the centered
aggregate, the difference to the first variant with Welch's t-test over seeds, and the epochs each variant
made of its data. Written as ablation.json, a terminal table, ablation.png (bits per byte against tokens
seen) and ablation.html (self-contained and escaped, as `finemill stats --html`).
"""

from __future__ import annotations

import base64
import html
import io
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SIGNIFICANT = 0.05  # p below this: a difference larger than the seeds' noise


def summarize(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean and sample standard deviation (None for one value) of the values that are numbers."""
    xs = [float(v) for v in values if v is not None and not math.isnan(v)]
    if not xs:
        return {"mean": None, "std": None, "n": 0, "values": []}
    mean = sum(xs) / len(xs)
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else None
    return {"mean": mean, "std": std, "n": len(xs), "values": xs}


def welch(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """mean(a) - mean(b) with Welch's t-test (unequal variances) over seeds; t and p are None with fewer than
    two seeds on a side, or when neither side varies."""
    difference = sum(a) / len(a) - sum(b) / len(b) if a and b else None
    result: dict[str, Any] = {"difference": difference, "t": None, "p": None, "significant": None}
    if len(a) < 2 or len(b) < 2 or (len(set(a)) == 1 and len(set(b)) == 1):
        return result
    import warnings

    from scipy.stats import ttest_ind

    with warnings.catch_warnings():  # near-identical seeds: scipy warns of precision loss, the test stands
        warnings.simplefilter("ignore", RuntimeWarning)
        test = ttest_ind(a, b, equal_var=False)
    result.update(t=float(test.statistic), p=float(test.pvalue), significant=bool(test.pvalue < SIGNIFICANT))
    return result


# Two-sided test at p < 0.05 with 80% power: (z_0.975 + z_0.8)^2.
POWER_FACTOR = (1.959964 + 0.841621) ** 2


def seeds_needed(a: Sequence[float], b: Sequence[float]) -> int | None:
    """Seeds per variant a two-sample test would need to find the measured difference significant (p < 0.05)
    four times out of five, from the measured seed variances: (z + z)^2 (s_a^2 + s_b^2) / d^2. None when a
    side has fewer than two seeds or the difference is zero."""
    if len(a) < 2 or len(b) < 2:
        return None
    difference = sum(a) / len(a) - sum(b) / len(b)
    variance = summarize(a)["std"] ** 2 + summarize(b)["std"] ** 2
    if difference == 0:
        return None
    return max(2, math.ceil(POWER_FACTOR * variance / difference**2))


def build_report(
    variants: list[dict[str, Any]], results: list[dict[str, Any]], settings: dict[str, Any]
) -> dict:
    """ablation.json's content. `variants`: per variant, in the ablation's order, {name, steps, documents,
    chars, train_tokens, error}; `results`: the runs' result.json contents."""
    runs: dict[str, list[dict]] = {}
    for r in results:
        runs.setdefault(r["variant"], []).append(r)
    tasks = list(dict.fromkeys(t for r in results for t in r["tasks"]))
    reference = variants[0]
    rows = []
    for v in variants:
        own = sorted(runs.get(v["name"], []), key=lambda r: r["seed"])
        row = {
            **v,
            "documents_share": _share(v["documents"], reference["documents"]),
            "tokens_share": _share(v["train_tokens"], reference["train_tokens"]),
            "seeds": [r["seed"] for r in own],
            "tokens_seen": summarize([r["tokens_seen"] for r in own])["mean"],
            "epochs": summarize([r["epochs"] for r in own])["mean"],
            "bpb": summarize([r["bpb"] for r in own]),
            "tasks": {t: summarize([r["tasks"][t]["score"] for r in own if t in r["tasks"]]) for t in tasks},
            "aggregate": summarize([r["aggregate"] for r in own]),
            "gold_bpb": summarize([r.get("gold_bpb") for r in own]),
            "curve": _mean_curve(own),
        }
        rows.append(row)
    ref = rows[0]
    for row in rows[1:]:
        if not row["seeds"] or not ref["seeds"]:
            continue
        row["seeds_needed"] = {
            measure: seeds_needed(row[measure]["values"], ref[measure]["values"])
            for measure in ("bpb", "gold_bpb")
        }
        row["vs_reference"] = {
            "bpb": welch(row["bpb"]["values"], ref["bpb"]["values"]),
            "aggregate": welch(row["aggregate"]["values"], ref["aggregate"]["values"]),
            "gold_bpb": welch(row["gold_bpb"]["values"], ref["gold_bpb"]["values"]),
            "tasks": {t: welch(row["tasks"][t]["values"], ref["tasks"][t]["values"]) for t in tasks},
        }
    return {
        "reference": reference["name"],
        "tasks": tasks,
        "settings": settings,
        "variants": rows,
        "test": f"Welch's t-test over seeds (unequal variances), significant at p < {SIGNIFICANT}",
        "ranking": ranking(rows),
    }


def ranking(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The variants best first by each measure that can rank data at small scale: held-out bits per byte and
    the gold continuations' bits per byte (lower is better), and the centered aggregate (higher is better).
    A variant without the measure is left out of that ranking."""
    order = {"bpb": 1, "gold_bpb": 1, "aggregate": -1}
    return {
        measure: [
            r["name"]
            for r in sorted(
                (r for r in rows if r[measure]["mean"] is not None), key=lambda r: sign * r[measure]["mean"]
            )
        ]
        for measure, sign in order.items()
    }


def _share(value: float, reference: float) -> float | None:
    return value / reference if reference else None


def _mean_curve(runs: list[dict]) -> list[dict[str, float]]:
    """Bits per byte at each checkpoint step: mean, min and max over seeds (the steps are the same in all)."""
    steps: dict[int, list[dict]] = {}
    for r in runs:
        for point in r["curve"]:
            steps.setdefault(point["step"], []).append(point)
    curve = []
    for step in sorted(steps):
        points = steps[step]
        values = [p["bpb"] for p in points]
        curve.append(
            {
                "step": step,
                "tokens": sum(p["tokens"] for p in points) / len(points),
                "bpb": sum(values) / len(values),
                "min": min(values),
                "max": max(values),
                "seeds": len(values),
            }
        )
    return curve


# ----------------------------------------------------------------------------------------------------------
# Terminal


def _pm(summary: dict, scale: float = 1.0, digits: int = 3) -> str:
    if summary["mean"] is None:
        return "-"
    text = f"{summary['mean'] * scale:.{digits}f}"
    return text + (f"±{summary['std'] * scale:.{digits}f}" if summary["std"] is not None else "")


def _delta(test: dict | None, scale: float = 1.0, digits: int = 3) -> str:
    if not test or test["difference"] is None:
        return ""
    text = f"{test['difference'] * scale:+.{digits}f}"
    if test["p"] is not None:
        text += f" (p={test['p']:.2g}{'*' if test['significant'] else ''})"
    return text


def _epochs(epochs: float | None) -> str:
    if epochs is None:
        return "-"
    return f"{epochs:.1f}" if epochs >= 1 else f"{epochs:.2f}"


def table_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    """The table as header and rows of strings (the terminal table and the HTML page show the same)."""
    tasks = report["tasks"]
    header = [
        "variant",
        "docs",
        "tokens",
        "epochs",
        "bits/byte",
        "Δ bits/byte",
        *[f"{t} %" for t in tasks],
        "aggregate %",
        "Δ aggregate",
        "gold bpb",
        "Δ gold bpb",
    ]
    rows = []
    for row in report["variants"]:
        vs = row.get("vs_reference") or {}
        share = lambda x: f" ({100 * x:.0f}%)" if x is not None else ""  # noqa: E731
        rows.append(
            [
                row["name"],
                f"{row['documents']:,}{share(row['documents_share'])}",
                f"{row['train_tokens']:,}{share(row['tokens_share'])}",
                _epochs(row["epochs"]),
                _pm(row["bpb"]),
                _delta(vs.get("bpb")),
                *[_pm(row["tasks"][t], 100, 1) for t in tasks],
                _pm(row["aggregate"], 100, 1),
                _delta(vs.get("aggregate"), 100, 1),
                _pm(row.get("gold_bpb") or {"mean": None}),
                _delta(vs.get("gold_bpb")),
            ]
        )
    return header, rows


def notes(report: dict) -> list[str]:
    """What a reader must know to read the table right."""
    s = report["settings"]
    lines = [
        f"mean ± std over seeds {s['seeds']}; Δ: difference to {report['reference']}, {report['test']} (*)",
        f"budget: {s['tokens']:,} tokens per run ({s['steps']:,} steps of {s['tokens_per_step']:,}), the same "
        "for every variant and seed",
        f"bits per byte on {s['heldout']['source']} ({s['heldout']['bytes']:,} bytes); gold bpb: bits per "
        "byte of the benchmarks' correct answers, mean over tasks",
    ]
    for measure, names in (report.get("ranking") or {}).items():
        if len(names) > 1:
            lines.append(f"ranking by {measure.replace('_', ' ')}: {' > '.join(names)} (best first)")
    if s.get("overrides"):  # the user's training settings the runs did not follow
        lines.append(
            "training settings overridden: "
            + ", ".join(f"{o['key']} {o['config']} -> {o['ablate']}" for o in s["overrides"])
        )
    repeated = [r for r in report["variants"] if r["epochs"] and r["epochs"] > 1.0]
    if repeated:
        lines.append(
            "repeated data: "
            + ", ".join(f"{r['name']} {r['epochs']:.1f} epochs" for r in repeated)
            + " (FineWeb's ablations saw each token once: with repeats, a smaller variant is not penalised "
            "for its size as it would be at scale)"
        )
    for r in report["variants"]:
        needed = {k: v for k, v in (r.get("seeds_needed") or {}).items() if v}
        tests = r.get("vs_reference") or {}
        unseen = {k: v for k, v in needed.items() if not (tests.get(k) or {}).get("significant")}
        if unseen:
            lines.append(
                f"{r['name']}: seeds per variant to find its difference significant (p < 0.05, 80% power), "
                "from the measured seed variance: "
                + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in unseen.items())
            )
    for r in report["variants"]:
        if r.get("error"):
            lines.append(f"{r['name']}: {r['error']}; not trained")
    return lines


def print_report(report: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    # not a terminal (a log, a pipe): wide enough for the table rather than rich's 80 columns
    console = console or (Console() if sys.stdout.isatty() else Console(width=200))
    header, rows = table_rows(report)
    table = Table(title="Ablation", title_justify="left")
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    for line in notes(report):
        console.print(line, highlight=False, markup=False)


# ----------------------------------------------------------------------------------------------------------
# Plot and page


def curve_png(report: dict) -> bytes:
    """Validation bits per byte (held-out texts) against tokens seen: one line per variant, mean over seeds,
    the band between the seeds' lowest and highest."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    for row in report["variants"]:
        curve = row["curve"]
        if not curve:
            continue
        x = [p["tokens"] for p in curve]
        (line,) = ax.plot(x, [p["bpb"] for p in curve], marker="o", markersize=3, label=row["name"])
        if any(p["seeds"] > 1 for p in curve):
            ax.fill_between(
                x,
                [p["min"] for p in curve],
                [p["max"] for p in curve],
                color=line.get_color(),
                alpha=0.2,
                linewidth=0,
            )
    ax.set_xlabel("tokens seen")
    ax.set_ylabel("bits per byte (held-out texts)")
    ax.set_title("Ablation: validation bits per byte (mean over seeds, band: min-max)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def render_html(report: dict, png: bytes | None) -> str:
    """One self-contained page: inline styles, the plot as a data: URI, no script, every text escaped."""
    from finemill.stats.report import CSP, STYLE

    esc = html.escape
    header, rows = table_rows(report)
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    s = report["settings"]
    steps = "".join(
        f"<dt>{esc(r['name'])}</dt><dd>{esc(', '.join(r['steps']))}</dd>" for r in report["variants"]
    )
    image = (
        (
            f'<img alt="bits per byte against tokens seen" src="data:image/png;base64,'
            f'{base64.b64encode(png).decode()}">'
        )
        if png
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">
<title>finemill ablation</title><style>{STYLE}</style></head>
<body><main>
<h1>Ablation</h1>
<p class="sub">{esc(s["ablation_file"])} · base recipe {esc(s["base"])} · train {esc(s["train"])}</p>
<h2>Results</h2>
<table><tr>{head}</tr>{body}</table>
<ul class="note">{"".join(f"<li>{esc(line)}</li>" for line in notes(report))}</ul>
<h2>Bits per byte against tokens seen</h2>
{image}
<h2>Variants</h2>
<p class="note">Steps each variant ran after the shared ones ({esc(", ".join(s["shared_steps"]) or "none")}).</p>
<dl class="meta">{steps}</dl>
</main></body></html>
"""


def write_outputs(report: dict, out: Path, html_path: Path | None = None) -> list[Path]:
    """ablation.json, ablation.png and the HTML page (OUT/ablation.html, or `html_path`)."""
    from finemill import run_folder
    from finemill.tokenize.manifest import write_json_atomic

    json_path = run_folder.ablation_report(out, ".json")
    write_json_atomic(json_path, report)
    written = [json_path]
    png = curve_png(report) if any(r["curve"] for r in report["variants"]) else None
    if png:
        png_path = run_folder.ablation_report(out, ".png")
        png_path.write_bytes(png)
        written.append(png_path)
    page = Path(html_path) if html_path else run_folder.ablation_report(out, ".html")
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(render_html(report, png), encoding="utf-8")
    written.append(page)
    return written
