"""`finemill stats OUT --html report.html`: one self-contained HTML file, charts beside it as PNG.

Self-contained: styles inline, charts as data: URIs, no script, nothing fetched. A Content-Security-Policy
meta tag makes the browser refuse any script or remote resource, as a second guard behind escaping:
every piece of page text and URL goes through `html.escape`, so a crawled page can never add markup.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from pathlib import Path

from finemill.common import human_chars, share
from finemill.pipeline.language_funnel import language_rows
from finemill.stats import charts
from finemill.stats.explain import DESCRIPTIONS, Explainer
from finemill.stats.format import STEP_COLUMNS
from finemill.stats.histograms import score_and_length_histograms
from finemill.stats.sample import GROUP_SEPARATOR, Example, readable_text, sample_by_reason
from finemill.stats.scores import scores_html
from finemill.stats.step_rows import step_rows
from finemill.stats.summary import Summary

EXCERPT_LINES, EXCERPT_CHARS = 12, 900
LANGUAGE_GROUPS = 8  # detected languages with examples in the language step's section
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

STYLE = """
:root { --kept: #2b6cb0; --removed: #e8846b; --ink: #1a202c; --muted: #5a6473; --line: #e2e8f0; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: #f7f9fb; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 24px; margin: 0 0 2px; } h2 { font-size: 18px; margin: 32px 0 10px; border-bottom: 2px solid
var(--line); padding-bottom: 4px; } h3 { font-size: 15px; margin: 22px 0 6px; } h4 { font-size: 14px; margin: 14px 0 4px; }
.sub { color: var(--muted); margin: 0 0 14px; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0 6px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 150px; }
.card b { display: block; font-size: 20px; } .card span { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); width: 100%; font-size: 13px; }
th, td { padding: 3px 10px; text-align: right; border-bottom: 1px solid var(--line); white-space: nowrap; }
th:first-child, td:first-child { text-align: left; } th { background: #edf2f7; font-weight: 600; }
tr.step td { font-weight: 600; background: #fbfcfe; border-top: 2px solid var(--line); }
tr.reason td:first-child { padding-left: 26px; } tr.lang td { color: var(--muted); }
tr.lang td:first-child { padding-left: 44px; }
img { max-width: 100%; display: block; background: #fff; border: 1px solid var(--line); border-radius: 6px;
      margin: 8px 0; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; font-size: 13px; }
dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; word-break: break-all; }
.example { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--removed);
           border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
.example .url { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
.example .measure { color: #9b2c2c; font-size: 13px; margin: 2px 0; }
.example .lang { color: var(--muted); font-size: 12px; }
.example pre { white-space: pre-wrap; word-break: break-word; background: #f7fafc; margin: 6px 0 0;
               padding: 8px; border-radius: 4px; font-size: 12px; max-height: 260px; overflow: auto; }
.note { color: var(--muted); font-size: 13px; } .warning { color: #975a16; }
nav a { margin-right: 14px; color: var(--kept); }
"""


def write_report(summary: Summary, path: str | Path, examples: int = 3, seed: int = 0) -> list[Path]:
    """Write the HTML report to `path` and its charts as `<stem>-<chart>.png` beside it; return the paths."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    explainer = Explainer(summary.run.params)
    images = _charts(summary, explainer)
    written = [path]
    for name, png in images.items():
        png_path = path.with_name(f"{path.stem}-{name}.png")
        png_path.write_bytes(png)
        written.append(png_path)
    path.write_text(
        render_html(summary, images, _examples(summary, explainer, examples, seed)), encoding="utf-8"
    )
    return written


def _charts(summary: Summary, explainer: Explainer) -> dict[str, bytes]:
    scores, lengths = score_and_length_histograms(summary.run)
    language = explainer.filter_for("language") if "language" in summary.run.step_names else None
    threshold = getattr(language, "language_threshold", None)
    images = {
        "funnel": charts.funnel_chart(summary),
        "reasons": charts.reasons_chart(summary),
        "languages": charts.languages_chart(summary),
        "language-score": charts.histogram_chart(
            scores, "Language score", "score of the detected language", threshold=threshold
        ),
        "length": charts.histogram_chart(lengths, "Document length", "characters (log scale)", log_x=True),
        "clusters": charts.clusters_chart(summary.clusters) if summary.clusters else None,
    }
    return {name: png for name, png in images.items() if png}


def _examples(summary: Summary, explainer: Explainer, n: int, seed: int) -> dict[str, list[tuple]]:
    """{step: [(group, count, [(example, measures, excerpt)])]} for every step that removed documents.

    The language step's examples are grouped by detected language too: otherwise a few foreign pages
    hide the interesting cases, pages in a kept language that scored below the threshold."""
    found: dict[str, list[tuple]] = {}
    for step in summary.steps:
        if not step.removed or n <= 0:
            continue
        by_language = bool(step.by_language)
        groups = sample_by_reason(summary.run.removed_files(step.name), n, seed, by_language=by_language)
        counts = (
            {f"{r}{GROUP_SEPARATOR}{lang}": c for r, by in step.by_language.items() for lang, c in by.items()}
            if by_language
            else step.reasons
        )
        ordered = sorted(groups, key=lambda g: -counts.get(g, 0))[: LANGUAGE_GROUPS if by_language else None]
        found[step.name] = [
            (
                group,
                counts.get(group, len(groups[group])),
                [(e, _measures(explainer, step.name, e), _excerpt(e, step.name)) for e in groups[group]],
            )
            for group in ordered
        ]
    return found


def _measures(explainer: Explainer, step: str, example: Example) -> list[str]:
    meta = {**example.metadata, "language": example.language, "language_score": example.language_score}
    return [str(m) for m in explainer.explain(step, example.reason, example.text, example.url, meta)]


def _excerpt(example: Example, step: str) -> str:
    lines = readable_text(example, step, max_chars=EXCERPT_CHARS * 4).splitlines()
    text = "\n".join(lines[:EXCERPT_LINES])
    cut = len(lines) > EXCERPT_LINES or len(text) > EXCERPT_CHARS
    return text[:EXCERPT_CHARS] + (" …" if cut else "")


def render_html(summary: Summary, images: dict[str, bytes], examples: dict[str, list[tuple]]) -> str:
    e = html.escape
    stats = summary.run.stats
    title = f"finemill report: {summary.run.label}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body><main>",
        f"<h1>{e(title)}</h1>",
        f'<p class="sub">{e(str(summary.run.path))}</p>',
        _cards(summary),
        _meta(stats),
        '<nav><a href="#funnel">funnel</a><a href="#reasons">reasons</a><a href="#languages">languages</a>'
        '<a href="#distributions">distributions</a><a href="#dedup">duplicates</a>'
        '<a href="#examples">examples</a></nav>',
        '<h2 id="funnel">Funnel</h2>',
        _img(images, "funnel", "documents and characters after each step"),
        _steps_table(summary),
    ]
    parts += [f'<p class="warning">warning: {e(w)}</p>' for w in summary.warnings]
    parts += [
        '<h2 id="reasons">Why documents were removed</h2>',
        _img(images, "reasons", "removal reasons per step") or '<p class="note">Nothing was removed.</p>',
    ]
    if "languages" in images:
        parts += ['<h2 id="languages">Languages</h2>', _img(images, "languages", "languages detected")]
    if stats.get("languages"):
        parts += ["<h3>Each language's funnel</h3>", _language_funnel_table(stats["languages"])]
    parts += [
        '<h2 id="distributions">Language score and length, before and after filtering</h2>',
        '<p class="note">Before: every document the language step saw (with its score and extracted text). '
        "After: the kept documents.</p>",
        f'<div class="pair">{_img(images, "language-score", "language score histogram")}'
        f"{_img(images, 'length', 'document length histogram')}</div>",
    ]
    parts += scores_html(summary.run.path)  # a quality classifier's scores, when the run has them
    if summary.clusters is not None:
        parts += ['<h2 id="dedup">Near-duplicates (MinHash)</h2>', _dedup(summary, images)]
    parts += [
        '<h2 id="examples">Removed examples</h2>',
        '<p class="note">Random examples per reason, with the measure recomputed by the filter\'s own rule '
        "and threshold. Page text is shown as plain text.</p>",
    ]
    parts += _examples_html(summary, examples)
    parts.append(
        f'<p class="note">finemill {e(str(stats.get("finemill_version", "?")))} · generated '
        f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M')}</p></main></body></html>"
    )
    return "\n".join(p for p in parts if p)


def _cards(summary: Summary) -> str:
    minhash = next((s for s in summary.steps if s.name == "minhash"), None)
    cards = [
        (f"{summary.read_docs:,}", "documents read"),
        (f"{summary.kept_docs:,}", f"kept ({share(summary.kept_docs, summary.read_docs)})"),
        (
            human_chars(summary.kept_chars),
            f"characters kept ({share(summary.kept_chars, summary.read_chars)})",
        ),
        (f"{sum(s.removed for s in summary.steps):,}", "documents removed"),
    ]
    if minhash:
        cards.append((f"{minhash.removed:,}", "near-duplicates removed"))
    cards.append((f"{summary.run.stats.get('wall_time_s', 0):,.1f} s", "wall time"))
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>' for v, k in cards
        )
        + "</div>"
    )


def _meta(stats: dict) -> str:
    inputs = stats.get("inputs", [])
    rows = [
        ("recipe", stats.get("recipe")),
        ("dump", stats.get("dump")),
        (
            "inputs",
            ", ".join(map(str, inputs[:5])) + (f" and {len(inputs) - 5} more" if len(inputs) > 5 else ""),
        ),
        ("workers", stats.get("workers")),
        ("fingerprint", stats.get("fingerprint")),
    ]
    return (
        '<dl class="meta">'
        + "".join(
            f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in rows if v is not None
        )
        + "</dl>"
    )


def _img(images: dict[str, bytes], name: str, alt: str) -> str:
    if name not in images:
        return ""
    data = base64.b64encode(images[name]).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _steps_table(summary: Summary) -> str:
    head = ("step / reason", *STEP_COLUMNS)
    rows = ["<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"]
    for row in step_rows(summary):
        label = html.escape(row.label)
        if row.kind == "clusters":
            label = label.removesuffix("clusters") + '<a href="#dedup">clusters</a>'
        rows.append(_tr(_HTML_CLASSES[row.kind], label, *row.cells))
    rows.append("</tbody></table>")
    return "".join(rows)


def _language_funnel_table(funnel: dict) -> str:
    """A multilingual run's documents per language after the language step and each step after it."""
    header, rows = language_rows(funnel, shown=50)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(_tr("step", *(html.escape(cell) for cell in row)) for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# the CSS class of each kind of row
_HTML_CLASSES = {
    "read": "step",
    "skipped": "reason",
    "step": "step",
    "reason": "reason",
    "lang": "lang",
    "clusters": "lang",
}


def _tr(kind: str, *cells: str) -> str:
    return f'<tr class="{kind}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _dedup(summary: Summary, images: dict[str, bytes]) -> str:
    clusters = summary.clusters
    minhash = next((s for s in summary.steps if s.name == "minhash"), None)
    removed = minhash.removed if minhash else 0
    text = (
        f"<p>{removed:,} duplicates removed from {clusters.count:,} clusters "
        f'<span class="note">(cluster sizes found in {html.escape(clusters.source)})</span>.</p>'
    )
    if clusters.sizes:
        largest = max(clusters.sizes)
        text += f'<p class="note">Largest cluster: {largest:,} documents.</p>'
    return text + _img(images, "clusters", "MinHash cluster sizes")


def _examples_html(summary: Summary, examples: dict[str, list[tuple]]) -> list[str]:
    e = html.escape
    parts: list[str] = []
    if not examples:
        return ['<p class="note">No removed documents.</p>']
    by_name = {s.name: s for s in summary.steps}
    for step_name, groups in examples.items():
        step = by_name[step_name]
        parts.append(
            f'<h3 id="ex-{e(step_name)}">{e(step_name)} <span class="note">({step.removed:,} removed)'
            "</span></h3>"
        )
        for group, count, items in groups:
            reason = group.split(GROUP_SEPARATOR)[0]
            description = DESCRIPTIONS.get(reason, "")
            heading = group.replace(GROUP_SEPARATOR, " · detected ")
            parts.append(
                f'<h4>{e(heading)} <span class="note">{count:,} document{"s" if count != 1 else ""}'
                f"{' · ' + e(description) if description else ''}</span></h4>"
            )
            for example, measures, excerpt in items:
                parts.append(_example_html(example, measures, excerpt))
    return parts


def _example_html(example: Example, measures: list[str], excerpt: str) -> str:
    e = html.escape
    url = example.url or ""
    if url.startswith(("http://", "https://")):
        link = f'<a class="url" href="{e(url, quote=True)}" rel="noopener noreferrer nofollow">{e(url)}</a>'
    else:  # javascript:, data: and the like are shown, never linked
        link = f'<span class="url">{e(url) or "(no URL)"}</span>'
    language = ""
    if example.language:
        score = f" {example.language_score:.3f}" if example.language_score is not None else ""
        language = f'<div class="lang">detected language: {e(example.language)}{score}</div>'
    measure_html = "".join(f'<div class="measure">{e(m)}</div>' for m in measures)
    return f'<div class="example">{link}{measure_html}{language}<pre>{e(excerpt)}</pre></div>'
