"""OUT/README.md: the run's dataset card, so its documents can go to the Hugging Face Hub as they are.

The card is the Hub's YAML header (licence, language, size category, and the dataset viewer's `configs`:
the kept documents as the default config, every removed document as `removed`), then what FineWeb's card
states for its data: the recipe as run (steps and settings), the funnel, the input, the licences of the
models and lists the filters used, the columns and how to load it. `finemill run` writes it with
stats.json and `finemill stats` writes it again, both from stats.json; a README.md that finemill did not
write is never replaced.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import yaml

from finemill import run_folder, storage
from finemill.common import write_text_atomic
from finemill.pipeline.funnel import COLUMNS, funnel_rows
from finemill.pipeline.language_funnel import is_by_language

MARKER = "<!-- written by finemill: `finemill stats OUT` rewrites this card from stats.json -->"
LICENSE = "odc-by"  # FineWeb's: the card says it applies on top of Common Crawl's terms of use
DOCUMENT_COLUMNS = {
    "text": "the page's main text",
    "id": "the WARC record id of the page",
    "dump": "the Common Crawl snapshot it came from",
    "url": "the page's URL",
    "date": "the crawl date (WARC-Date)",
    "file_path": "the crawl file the page was read from",
    "language": "the language lid.176 found",
    "language_score": "lid.176's confidence in that language",
    # written when the recipe has a quality classifier step (quality_fasttext, quality_hf)
    "quality_score": "the quality classifier's score (fastText: the label's probability; transformers: its logit)",
    "int_score": "round(clip(quality_score, 0, 5)), FineWeb-Edu's integer score",
}
REMOVED_COLUMNS = {
    "step": "the recipe step that removed the document",
    "reason": "why (the filter's rule)",
    "metadata": "the document's other fields, as JSON",
}
# Models and lists a recipe step uses by default, with their licences.
STEP_SOURCES = {
    "language": "fastText language identification model lid.176 (Joulin et al.), CC-BY-SA-3.0",
    "url_filter": "the UT1 URL blocklist (Université Toulouse Capitole) bundled with datatrove, CC-BY-SA-4.0",
}
_SIZES = [(10**3, "n<1K"), (10**4, "1K<n<10K"), (10**5, "10K<n<100K"), (10**6, "100K<n<1M")]
_SIZES += [(10**7, "1M<n<10M"), (10**8, "10M<n<100M"), (10**9, "100M<n<1B"), (10**10, "1B<n<10B")]


def size_category(documents: int) -> str:
    """The Hub's size_categories value for this many rows."""
    return next((label for limit, label in _SIZES if documents < limit), "n>10B")


def header(stats: dict) -> dict:
    """The YAML header: what the Hub and its dataset viewer read."""
    languages = (stats.get("settings") or {}).get("language", {}).get("languages")
    if not languages and stats.get("languages"):  # a multilingual run: the languages it kept documents of
        languages = [lang for lang, entry in stats["languages"].items() if list(entry["out"].values())[-1]]
    meta: dict = {"license": LICENSE}
    if languages:
        meta["language"] = list(languages)
    meta["size_categories"] = [size_category(stats["documents"]["count"])]
    meta["task_categories"] = ["text-generation"]
    meta["configs"] = [
        {"config_name": "default", "data_files": [{"split": "train", "path": documents_glob(stats)}]},
        {"config_name": "removed", "data_files": [{"split": "train", "path": "removed/*/*.parquet"}]},
    ]
    return meta


def documents_glob(stats: dict) -> str:
    """The kept documents' files: `documents/<language>/` folders in a multilingual run."""
    return "documents/*/*.parquet" if stats.get("languages") else "documents/*.parquet"


def _table(columns: tuple[str, ...] | list[str], rows: list) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def _recipe(stats: dict) -> list[str]:
    settings = stats.get("settings") or {}
    rows = [
        (f"`{name}`", f"`{json.dumps(params, sort_keys=True)}`" if params else "defaults")
        for name, params in settings.items()
    ]
    lines = [
        f"Recipe `{stats.get('recipe', '?')}`, finemill {stats.get('finemill_version', '?')}, in this order:",
        "",
    ]
    lines += _table(("step", "settings"), rows)
    lines += [f"- `{name}` skipped: {reason}" for name, reason in (stats.get("steps_skipped") or {}).items()]
    return lines


def _input(stats: dict) -> list[str]:
    files = [str(f).rstrip("/").rsplit("/", 1)[-1] for f in stats.get("inputs") or []]
    shown = ", ".join(f"`{f}`" for f in files[:10]) + (
        f" and {len(files) - 10:,} more" if len(files) > 10 else ""
    )
    return [
        f"- Snapshot: `{stats.get('dump', '?')}`",
        f"- Input: {stats['reader']['files']:,} {stats.get('input_kind', '')} file(s): {shown}",
        f"- Documents: {stats['documents']['count']:,} kept of {stats['reader']['documents']:,} read, "
        f"{stats['documents']['chars']:,} characters",
    ]


def _sources(stats: dict) -> list[str]:
    settings = stats.get("settings") or {}
    lines = []
    for step, source in STEP_SOURCES.items():
        if step not in settings:
            continue
        model = (settings[step] or {}).get("model")
        lines.append(
            f"- `{step}`: {source}" if not model else f"- `{step}`: the model at `{model}` (its licence)"
        )
    extra = {k: v for k, v in (settings.get("url_filter") or {}).items() if k.startswith("extra_") and v}
    if extra:
        lines.append(f"- `url_filter` also used the lists given in its settings: {', '.join(sorted(extra))}")
    return lines or ["- none: the recipe ran no model- or list-based filter"]


def _columns(out: Path) -> list[str]:
    import pyarrow.parquet as pq

    lines = []
    for config, folder, pattern, described in (
        (
            "default",
            run_folder.documents(out),
            "*/*.parquet" if is_by_language(out) else "*.parquet",
            DOCUMENT_COLUMNS,
        ),
        ("removed", out / run_folder.REMOVED, "*/*.parquet", {**DOCUMENT_COLUMNS, **REMOVED_COLUMNS}),
    ):
        first = next(iter(sorted(folder.glob(pattern))), None)
        if first is None:
            continue
        schema = (
            storage.parquet_file(first).schema_arrow if storage.is_remote(first) else pq.read_schema(first)
        )
        rows = [(f"`{f.name}`", f"`{f.type}`", described.get(f.name, "")) for f in schema]
        lines += [
            "",
            f"`{config}` (`{folder.name}/{pattern}`):",
            "",
            *_table(("column", "type", "meaning"), rows),
        ]
    return lines


def card_text(out: Path, stats: dict) -> str:
    """The whole card for the run in `out` whose stats.json holds `stats`."""
    name = storage.as_path(out).name
    body = [
        "---",
        yaml.safe_dump(header(stats), sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        MARKER,
        "",
        f"# {name}",
        "",
        f"Web documents filtered by finemill's `{stats.get('recipe', '?')}` recipe, a reimplementation of "
        "FineWeb's on datatrove. `documents/` holds the kept documents; `removed/<step>/` every removed one, "
        "with the step and reason.",
        "",
        "## Recipe as run",
        "",
        *_recipe(stats),
        "",
        "## Funnel",
        "",
        *_table(COLUMNS, funnel_rows(stats)),
        "",
        "## Input",
        "",
        *_input(stats),
        "",
        "## Licences",
        "",
        f"- The documents: `{LICENSE}` (ODC-By 1.0, as FineWeb), subject to Common Crawl's terms of use; "
        "change the header's licence if your input's terms differ.",
        "- Models and lists the filters used:",
        *["  " + line for line in _sources(stats)],
        "",
        "## Columns",
        *_columns(out),
        "",
        "## How to load it",
        "",
        "```python",
        "import datasets",
        "",
        f'kept = datasets.load_dataset("parquet", data_files="{name}/{documents_glob(stats)}", split="train")',
        f'removed = datasets.load_dataset("parquet", data_files="{name}/removed/*/*.parquet", split="train")',
        f'kept = datasets.load_dataset("{name}")  # the folder, or its Hub repository, through this card\'s configs',
        "```",
        "",
    ]
    return "\n".join(body)


def write_card(out: Path, stats: dict, log: Callable[[str], None] = print) -> Path | None:
    """Write OUT/README.md (unless it is a README.md finemill did not write); returns its path, or None."""
    out = storage.as_path(out)
    path = run_folder.card_file(out)
    if path.is_file() and MARKER not in path.read_text(encoding="utf-8", errors="replace"):
        log(f"note: {path} was not written by finemill; the dataset card was not written over it")
        return None
    if storage.is_remote(out):  # an object appears whole when its upload ends
        path.write_text(card_text(out, stats), encoding="utf-8")
        return path
    write_text_atomic(path, card_text(out, stats))  # two `finemill stats` at once: each renames a whole card
    return path
