"""The report's charts, drawn with matplotlib (Agg, no display) and returned as PNG bytes.

The same bytes are embedded in the HTML report (data: URIs) and written beside it for use in docs.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display, no GUI toolkit: works on servers and in CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from finemill.stats.dedup import Clusters  # noqa: E402
from finemill.stats.histograms import Histogram  # noqa: E402
from finemill.stats.summary import Summary  # noqa: E402

KEPT, REMOVED, BEFORE = "#2b6cb0", "#e8846b", "#b8c6d6"
DPI = 110
STYLE = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "font.size": 9,
    "axes.labelsize": 9,
    "legend.frameon": False,
}


def funnel_chart(summary: Summary) -> bytes:
    """Documents and characters left after each step, with what the step removed stacked on top."""
    names = ["read", *[s.name for s in summary.steps]]
    docs_out = [summary.read_docs, *[s.docs_out for s in summary.steps]]
    docs_removed = [sum(summary.skipped.values()), *[s.removed for s in summary.steps]]
    chars_out = [summary.read_chars, *[max(s.chars_out, 0) for s in summary.steps]]
    chars_removed = [0, *[max(s.chars_removed, 0) for s in summary.steps]]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(11, 0.38 * len(names) + 1.4), sharey=True)
        y = np.arange(len(names))
        for ax, out, removed, title, unit in (
            (axes[0], docs_out, docs_removed, "Documents after each step", "documents"),
            (axes[1], chars_out, chars_removed, "Characters after each step", "characters"),
        ):
            ax.barh(y, out, color=KEPT, label=f"{unit} kept")
            ax.barh(y, removed, left=out, color=REMOVED, label="removed by the step")
            for yi, value, gone in zip(y, out, removed, strict=True):
                ax.text(
                    value + gone, yi, f" {_short(value)}", va="center", ha="left", fontsize=8, color="#1a202c"
                )
            ax.set_title(title, loc="left")
            ax.set_xlabel(unit)
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: _short(v)))
            ax.margins(x=0.12)
        axes[0].set_yticks(y, names)
        axes[0].invert_yaxis()
        axes[1].legend(loc="lower right")
        fig.tight_layout()
        return _png(fig)


def reasons_chart(summary: Summary) -> bytes | None:
    """One panel per step that removed documents: its reasons (by detected language for the language step)."""
    panels = []
    for step in summary.steps:
        bars: dict[str, int] = {}
        for reason, n in step.reasons.items():
            by_language = step.by_language.get(reason)
            if by_language:
                for language, count in list(by_language.items())[:10]:
                    bars[f"{reason} · {language}"] = count
            else:
                bars[reason] = n
        if bars:
            panels.append((step, dict(list(bars.items())[:12])))
    if not panels:
        return None
    columns = 2 if len(panels) > 1 else 1
    rows = -(-len(panels) // columns)
    heights = [max(len(bars) for _, bars in panels[r * columns : (r + 1) * columns]) for r in range(rows)]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(
            rows,
            columns,
            figsize=(11, sum(0.26 * h + 0.9 for h in heights)),
            gridspec_kw={"height_ratios": heights},
            squeeze=False,
        )
        for ax, (step, bars) in zip(axes.flat, panels, strict=False):
            labels, counts = list(bars), list(bars.values())
            y = np.arange(len(labels))
            ax.barh(y, counts, color=REMOVED)
            ax.set_yticks(y, labels)
            ax.invert_yaxis()
            for yi, count in zip(y, counts, strict=True):
                ax.text(
                    count,
                    yi,
                    f" {count:,} ({100 * count / step.docs_in:.1f}%)" if step.docs_in else f" {count:,}",
                    va="center",
                    fontsize=8,
                )
            ax.set_title(f"{step.name}: {step.removed:,} of {step.docs_in:,} removed", loc="left")
            ax.margins(x=0.3)
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        for ax in list(axes.flat)[len(panels) :]:
            ax.set_visible(False)
        fig.tight_layout()
        return _png(fig)


def languages_chart(summary: Summary, top: int = 15) -> bytes | None:
    """Languages the language step detected: passed and removed."""
    if not summary.languages:
        return None
    removed: dict[str, int] = {}
    for step in summary.steps:
        for by_language in step.by_language.values():
            for language, n in by_language.items():
                removed[language] = removed.get(language, 0) + n
    languages = list(summary.languages.items())[:top]
    labels = [lang for lang, _ in languages]
    gone = [removed.get(lang, 0) for lang in labels]
    passed = [n - g for (_, n), g in zip(languages, gone, strict=True)]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(11, 0.28 * len(labels) + 1.2))
        y = np.arange(len(labels))
        ax.barh(y, passed, color=KEPT, label="passed the language step")
        ax.barh(y, gone, left=passed, color=REMOVED, label="removed by it")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        for yi, ok, bad in zip(y, passed, gone, strict=True):
            ax.text(ok + bad, yi, f" {ok:,} passed, {bad:,} removed", va="center", fontsize=8)
        ax.margins(x=0.2)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: _short(v)))
        ax.set_title(
            f"Languages detected ({sum(summary.languages.values()):,} documents, top {len(labels)})",
            loc="left",
        )
        ax.legend(loc="lower right")
        fig.tight_layout()
        return _png(fig)


def histogram_chart(
    histogram: Histogram, title: str, xlabel: str, log_x: bool = False, threshold: float | None = None
) -> bytes | None:
    """Before (every document the language step saw) and after (kept) filtering, on the same bins."""
    if histogram.empty:
        return None
    edges = histogram.edges
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.4, 3.2))
        ax.stairs(
            histogram.before,
            edges,
            fill=True,
            color=BEFORE,
            label=f"before filtering ({histogram.before.sum():,})",
        )
        ax.stairs(
            histogram.after,
            edges,
            fill=True,
            color=KEPT,
            alpha=0.85,
            label=f"kept ({histogram.after.sum():,})",
        )
        if threshold is not None:
            ax.axvline(
                threshold, color="#c53030", linestyle="--", linewidth=1, label=f"threshold {threshold:g}"
            )
        if log_x:
            ax.set_xscale("log")
            nonzero = np.flatnonzero(histogram.before)
            ax.set_xlim(edges[max(nonzero[0] - 1, 0)], edges[min(nonzero[-1] + 2, len(edges) - 1)])
        ax.set_title(title, loc="left")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("documents")
        ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        return _png(fig)


def clusters_chart(clusters: Clusters) -> bytes | None:
    """How many near-duplicate clusters of each size."""
    if not clusters.sizes:
        return None
    rows = clusters.histogram()
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.4, 3.2))
        labels = [label for label, _, _ in rows]
        ax.bar(labels, [n for _, n, _ in rows], color=REMOVED, width=0.6)
        ax.set_title(f"MinHash clusters ({clusters.count:,})", loc="left")
        ax.set_xlabel("documents in the cluster (one is kept)")
        ax.set_ylabel("clusters")
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlim(-0.5 - max(0, (6 - len(labels)) / 2), len(labels) - 0.5 + max(0, (6 - len(labels)) / 2))
        ax.tick_params(axis="x", labelrotation=30 if len(labels) > 8 else 0)
        fig.tight_layout()
        return _png(fig)


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    return buffer.getvalue()


def _short(value: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:,.0f}"
