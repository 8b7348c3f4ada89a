"""`finemill stats` / `inspect` on a small synthetic run folder: no pipeline run, no shared data needed.

The synthetic folder follows what a run writes (stats.json, documents/, removed/<step>/, work/run.json);
its stats.json is derived from its rows, so every number shown can be checked against the files.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import struct
import subprocess
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from finemill.cli import main
from finemill.errors import FinemillError
from finemill.steps.write.parquet import DOCUMENT_SCHEMA, REMOVED_SCHEMA
from tests.conftest import FINEWEB_STEPS

GOOD = (
    "The garden was quiet in the early morning, and the birds were singing in the old oak tree. "
    "We walked to the river and talked about the plans for the summer, the new house and the children."
)


def good_text(paragraphs: int) -> str:
    return "\n".join(f"{GOOD} That was day {i} of our stay." for i in range(paragraphs))


SCRIPT = '<script>alert("pwned")</script>'
IMG = "<img src=x onerror=alert(1)>"


def removed(
    step: str,
    reason: str,
    text: str,
    url: str,
    language: str | None = None,
    score: float | None = None,
    metadata: dict | None = None,
) -> dict:
    return {
        "text": text,
        "id": f"{step}-{abs(hash((text, url))) % 10**8}",
        "url": url,
        "step": step,
        "reason": reason,
        "language": language,
        "language_score": score,
        "metadata": json.dumps({"dump": "CC-TEST", **(metadata or {})}),
    }


def kept(text: str, url: str, score: float = 0.93) -> dict:
    return {
        "text": text,
        "id": url,
        "dump": "CC-TEST",
        "url": url,
        "date": "2024-01-01T00:00:00Z",
        "file_path": "test.warc.gz",
        "language": "en",
        "language_score": score,
    }


def write_run(
    out: Path,
    removed_rows: list[dict],
    kept_rows: list[dict],
    params: dict | None = None,
    skipped: dict | None = None,
) -> Path:
    """An OUT folder whose stats.json agrees with its parquet files."""
    out.mkdir(parents=True, exist_ok=True)
    by_step: dict[str, list[dict]] = {}
    for row in removed_rows:
        by_step.setdefault(row["step"], []).append(row)
    for step, rows in by_step.items():
        (out / "removed" / step).mkdir(parents=True, exist_ok=True)
        pq.write_table(
            pa.Table.from_pylist(rows, schema=REMOVED_SCHEMA), out / "removed" / step / "000_00000.parquet"
        )
    (out / "documents").mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.Table.from_pylist(kept_rows, schema=DOCUMENT_SCHEMA), out / "documents" / "00000.parquet"
    )
    docs_in = len(removed_rows) + len(kept_rows)
    chars_in = sum(len(r["text"]) for r in removed_rows + kept_rows)
    reader = {"files": 1, "documents": docs_in, "chars": chars_in, "skipped": skipped or {}, "time_s": 0.1}
    steps = []
    for name in FINEWEB_STEPS:
        rows = by_step.get(name, [])
        chars_out = chars_in - sum(len(r["text"]) for r in rows)
        counters = {}
        if name == "language":  # every language the step saw: removed here or later, and kept
            later = [
                r for r in removed_rows if FINEWEB_STEPS.index(r["step"]) >= FINEWEB_STEPS.index("language")
            ] + kept_rows
            counters = {f"lang_{k}": v for k, v in Counter(r["language"] or "en" for r in later).items()}
        steps.append(
            {
                "name": name,
                "docs_in": docs_in,
                "docs_out": docs_in - len(rows),
                "removed": dict(Counter(r["reason"] for r in rows)),
                "chars_in": chars_in,
                "chars_out": chars_out,
                "time_s": 0.5,
                "docs_per_s": docs_in / 0.5,
                "counters": counters,
            }
        )
        docs_in, chars_in = docs_in - len(rows), chars_out
    stats = {
        "finemill_version": "0.1.0",
        "recipe": "fineweb",
        "dump": "CC-TEST",
        "inputs": ["/data/test.warc.gz"],
        "workers": 1,
        "wall_time_s": 3.0,
        "fingerprint": "0123456789abcdef",
        "reader": reader,
        "steps": steps,
        "documents": {"count": docs_in, "chars": chars_in},
    }
    (out / "stats.json").write_text(json.dumps(stats, indent=1))
    (out / "work").mkdir(exist_ok=True)
    run_params = {
        "language": {"languages": ["en"], "threshold": 0.65},
        "fineweb_quality": {"rules": "fineweb"},
        **(params or {}),
    }
    (out / "work" / "run.json").write_text(
        json.dumps({"steps": [{"name": s, "params": run_params.get(s, {})} for s in FINEWEB_STEPS]})
    )
    return out


def synthetic_rows() -> tuple[list[dict], list[dict]]:
    rows = [
        removed("url_filter", "domain", "<html><body>casino</body></html>", "https://0-secure-paypal.com/a"),
        removed("url_filter", "domain", "<html><body>casino</body></html>", "https://0-secure-paypal.com/b"),
        removed("url_filter", "subdomain", "<html><body>x</body></html>", "https://ads.example.com/1"),
        removed(
            "extract",
            "no_main_text",
            "<html><head><title>Login</title><script>var a = 1;</script></head>"
            "<body><form>Sign in</form><p>Forgot password?</p></body></html>",
            "https://example.org/login",
        ),
        removed(
            "language",
            "below_threshold",
            "Der Garten war am frühen Morgen ruhig. " * 5,
            "https://beispiel.de/garten",
            "de",
            0.97,
        ),
        removed(
            "language",
            "below_threshold",
            "Le jardin était calme tôt le matin. " * 5,
            "https://exemple.fr/jardin",
            "fr",
            0.95,
        ),
        removed(
            "language", "below_threshold", "Le jardin était calme. " * 5, "https://exemple.fr/j2", "fr", 0.91
        ),
        removed("language", "below_threshold", "ok ok 12 34", "https://example.com/ok", "en", 0.41),
        removed(
            "gopher_repetition",
            "dup_line_frac",
            "Buy now\n" * 10 + "Cheap",
            "https://spam.example/1",
            "en",
            0.8,
        ),
        removed(
            "gopher_quality",
            "gopher_short_doc",
            f"Click {SCRIPT} and {IMG} now to win the prize today.",
            'https://evil.example/?q="><script>alert(2)</script>',
            "en",
            0.9,
        ),
        removed(
            "gopher_quality",
            "gopher_short_doc",
            "Call \x1b[31mnow\x1b[0m for a free quote.",
            "javascript:alert(3)",
            "en",
            0.88,
        ),
        removed(
            "gopher_quality",
            "gopher_below_alpha_threshold",
            " ".join(["12 34 56 78 90 | 11 22 33 || 44 -- the cat and the dog of it"] * 8),
            "https://numbers.example/table",
            "en",
            0.7,
        ),
        removed(
            "fineweb_quality",
            "line_punct_ratio",
            "\n".join(f"Menu item number {i} for the home page of the site" for i in range(30)),
            "https://menu.example/",
            "en",
            0.9,
        ),
        removed(
            "minhash",
            "duplicate",
            good_text(3),
            "https://copy.example/1",
            "en",
            0.95,
            {"minhash_cluster_id": 0, "minhash_cluster_size": 3},
        ),
        removed(
            "minhash",
            "duplicate",
            good_text(3),
            "https://copy.example/2",
            "en",
            0.95,
            {"minhash_cluster_id": 0, "minhash_cluster_size": 3},
        ),
        removed(
            "minhash",
            "duplicate",
            good_text(2),
            "https://copy.example/3",
            "en",
            0.95,
            {"minhash_cluster_id": 1, "minhash_cluster_size": 2},
        ),
    ]
    documents = [kept(good_text(i + 2), f"https://good.example/{i}", score=0.9 + i / 100) for i in range(6)]
    return rows, documents


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    rows, documents = synthetic_rows()
    return write_run(
        tmp_path_factory.mktemp("synthetic") / "run",
        rows,
        documents,
        skipped={"record_request": 5, "not_html": 1},
    )


def cli(capsys, monkeypatch, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setenv("COLUMNS", "200")
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def steps_shown(output: str) -> dict[str, dict]:
    """The first table of `finemill stats`: {step: {"cells": [...], "reasons": {...}, "languages": {...}}}."""
    shown: dict[str, dict] = {}
    step = reason = None
    for line in output.splitlines():
        if line.startswith("└"):
            break
        if not line.startswith("│"):
            continue
        label, *cells = [c[1:-1] if len(c) > 1 else c for c in line.split("│")[1:-1]]
        cells = [c.strip() for c in cells]
        depth = len(label) - len(label.lstrip(" "))
        name = label.strip()
        if depth == 0:
            step = name
            shown[step] = {"cells": cells, "reasons": {}, "languages": {}}
        elif depth == 2:
            reason = name
            shown[step]["reasons"][reason] = cells
        elif name.startswith("detected "):
            shown[step]["languages"][(reason, name.removeprefix("detected "))] = cells
    return shown


def number(cell: str) -> int:
    return int(cell.replace(",", ""))


# --- stats


def test_stats_shows_the_counts_of_the_output_files(run_dir, capsys, monkeypatch):
    code, out, _ = cli(capsys, monkeypatch, "stats", str(run_dir))
    assert code == 0
    shown = steps_shown(out)
    stats = json.loads((run_dir / "stats.json").read_text())
    assert list(shown) == ["read (records)", *FINEWEB_STEPS]
    assert shown["read (records)"]["reasons"]["record_request"][2] == "5"
    for step in stats["steps"]:
        row = shown[step["name"]]
        files = sorted((run_dir / "removed" / step["name"]).glob("*.parquet"))
        frame = pd.concat([pd.read_parquet(f) for f in files]) if files else pd.DataFrame({"reason": []})
        assert number(row["cells"][0]) == step["docs_in"]
        assert number(row["cells"][1]) == step["docs_out"]
        assert number(row["cells"][2]) == len(frame) == step["docs_in"] - step["docs_out"]
        assert {r: number(c[2]) for r, c in row["reasons"].items()} == frame[
            "reason"
        ].value_counts().to_dict()
    assert f"kept {len(pd.read_parquet(run_dir / 'documents')):,} of" in out


def test_language_removals_are_broken_down_by_detected_language(run_dir, capsys, monkeypatch):
    _, out, _ = cli(capsys, monkeypatch, "stats", str(run_dir))
    language = steps_shown(out)["language"]
    frame = pd.read_parquet(run_dir / "removed" / "language")
    expected = frame.groupby(["reason", "language"]).size().to_dict()
    assert {key: number(cells[2]) for key, cells in language["languages"].items()} == expected
    assert language["languages"][("below_threshold", "fr")][4] == "50.0%"  # share of the step's removals
    seen = re.search(r"Languages detected by the language step \((\d+) documents", out)
    later = sum(
        len(pd.read_parquet(d))
        for d in (run_dir / "removed").iterdir()
        if d.name not in ("url_filter", "extract")
    )
    assert int(seen.group(1)) == later + len(pd.read_parquet(run_dir / "documents"))  # all it saw


def test_dedup_clusters_from_the_removed_documents_metadata(run_dir, capsys, monkeypatch):
    _, out, _ = cli(capsys, monkeypatch, "stats", str(run_dir))
    assert "3 duplicates removed from 2 clusters (found in removed/minhash metadata)" in out
    assert "from 2 clusters (sizes below)" in out
    from finemill.stats.dedup import find_clusters
    from finemill.stats.load import open_run

    clusters = find_clusters(open_run(run_dir))
    assert clusters.sizes == {3: 1, 2: 1} and clusters.documents == 5


def test_dedup_clusters_from_the_duplicate_pairs(tmp_path):
    from finemill.stats.dedup import find_clusters
    from finemill.stats.load import open_run

    rows, documents = synthetic_rows()
    rows = [dict(r, metadata="{}") if r["step"] == "minhash" else r for r in rows]  # no cluster metadata
    out = write_run(tmp_path / "run", rows, documents)
    buckets = out / "work" / "minhash" / "buckets"
    buckets.mkdir(parents=True)
    pairs = [(0, 1, 0, 2), (0, 2, 0, 3), (0, 1, 0, 3), (1, 5, 1, 6)]  # {0:1, 0:2, 0:3} and {1:5, 1:6}
    (buckets / "00000_00.dups").write_bytes(b"".join(struct.pack("<4I", *p) for p in pairs[:2]))
    (buckets / "00001_00.dups").write_bytes(b"".join(struct.pack("<4I", *p) for p in pairs[2:]))
    clusters = find_clusters(open_run(out))
    assert (clusters.count, clusters.sizes, clusters.source) == (2, {3: 1, 2: 1}, "work/minhash/buckets")


def test_cluster_histogram_groups_many_sizes_in_power_of_two_ranges():
    from finemill.stats.dedup import Clusters

    few = Clusters(3, Counter({2: 2, 5: 1}), "test")
    assert few.histogram() == [("2", 2, 4), ("5", 1, 5)]
    many = Clusters(40, Counter({size: 1 for size in range(2, 42)}), "test")
    rows = many.histogram()
    assert [label for label, _, _ in rows] == ["2", "3-4", "5-8", "9-16", "17-32", "33-64"]
    assert sum(n for _, n, _ in rows) == 40 and sum(d for _, _, d in rows) == sum(range(2, 42))


def test_compare_two_runs_shows_counts_and_differences(run_dir, tmp_path, capsys, monkeypatch):
    rows, documents = synthetic_rows()
    other = write_run(tmp_path / "other", [r for r in rows if r["reason"] != "domain"], documents)
    code, out, _ = cli(capsys, monkeypatch, "stats", str(run_dir), str(other))
    assert code == 0
    lines = {
        line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
        for line in out.splitlines()
        if line.startswith("│")
    }
    # columns: A in, B in, A removed, A %, B removed, B %, B - A, B - A (pts)
    assert lines["domain"][2] == "2" and lines["domain"][4] == "0" and lines["domain"][6] == "-2"
    assert lines["url_filter"][:2] == ["22", "20"]
    assert lines["subdomain"][6] == "0"
    assert lines["kept documents"][2] == lines["kept documents"][4] == "6"


def test_stats_user_errors_are_one_line(run_dir, tmp_path, capsys, monkeypatch):
    code, _, err = cli(capsys, monkeypatch, "stats", str(tmp_path))
    assert code == 2 and "no stats.json" in err and err.count("\n") == 1
    code, _, err = cli(capsys, monkeypatch, "stats", str(run_dir), str(run_dir), str(run_dir))
    assert code == 2 and "two to compare" in err
    code, _, err = cli(
        capsys, monkeypatch, "stats", str(run_dir), str(run_dir), "--html", str(tmp_path / "r.html")
    )
    assert code == 2 and "--html" in err
    (tmp_path / "stats.json").write_text("{not json")
    with pytest.raises(FinemillError, match="not valid JSON"):
        from finemill.stats.load import open_run

        open_run(tmp_path)


# --- inspect


def test_inspect_prints_url_reason_measure_and_first_lines(run_dir, capsys, monkeypatch):
    code, out, _ = cli(
        capsys, monkeypatch, "inspect", str(run_dir), "--step", "fineweb_quality", "--lines", "2"
    )
    assert code == 0
    assert "https://menu.example/" in out and "line_punct_ratio" in out
    assert "share of lines ending in punctuation: 0 <= 0.12 (threshold)" in out
    assert "Menu item number 1 " in out and "Menu item number 2 " not in out  # only the first 2 lines
    assert "first 2 of 30 lines" in out


def test_inspect_shows_page_text_of_html_without_markup(run_dir, capsys, monkeypatch):
    _, out, _ = cli(capsys, monkeypatch, "inspect", str(run_dir), "--step", "extract")
    assert "[page title] Login" in out and "Forgot password?" in out
    assert "<form>" not in out and "var a = 1" not in out


def test_inspect_filters_by_reason_and_keeps_the_terminal_safe(run_dir, capsys, monkeypatch):
    _, out, _ = cli(
        capsys,
        monkeypatch,
        "inspect",
        str(run_dir),
        "--step",
        "gopher_quality",
        "--reason",
        "gopher_short_doc",
        "-n",
        "5",
    )
    assert out.count("gopher_quality · gopher_short_doc ·") == 2
    assert "gopher_below_alpha_threshold" not in out
    assert "\x1b[31m" not in out and "\ufffd[31mnow" in out  # a page cannot colour or move the terminal
    assert "words (not only punctuation):" in out and "< 50 (threshold)" in out


def test_inspect_by_detected_language(run_dir, capsys, monkeypatch):
    _, out, _ = cli(capsys, monkeypatch, "inspect", str(run_dir), "--step", "language", "--language", "fr")
    assert out.count("language · below_threshold ·") == 2 and "https://exemple.fr/" in out
    assert "beispiel.de" not in out and "language  fr (0.9" in out


def test_inspect_kept_documents_show_every_measure_passing(run_dir, capsys, monkeypatch):
    code, out, _ = cli(
        capsys, monkeypatch, "inspect", str(run_dir), "--step", "fineweb_quality", "--kept", "-n", "2"
    )
    assert code == 0 and out.count("fineweb_quality · kept ·") == 2
    assert out.count("(passes; removed when") == 8 and "(threshold)" not in out


def test_inspect_user_errors(run_dir, capsys, monkeypatch):
    code, _, err = cli(capsys, monkeypatch, "inspect", str(run_dir), "--step", "nope")
    assert code == 2 and "no step 'nope'" in err and "gopher_quality" in err
    code, _, err = cli(
        capsys, monkeypatch, "inspect", str(run_dir), "--step", "gopher_quality", "--reason", "x"
    )
    assert code == 2 and "with reason 'x'" in err and "gopher_short_doc" in err
    code, _, err = cli(capsys, monkeypatch, "inspect", str(run_dir), "--step", "pii")
    assert code == 2 and "no document removed by pii" in err


# --- sampling


def test_sampling_is_uniform_per_reason_seeded_and_bounded(tmp_path):
    from finemill.stats.sample import sample_by_reason

    reasons = ["a"] * 900 + ["b"] * 90 + ["c"] * 3
    table = pa.Table.from_pylist(
        [{**removed("gopher_quality", r, f"text {i}", f"https://x/{i}")} for i, r in enumerate(reasons)],
        schema=REMOVED_SCHEMA,
    )
    files = []
    for part in range(3):  # several files, several row groups: positions must stay right across them
        path = tmp_path / f"{part}.parquet"
        pq.write_table(table.slice(part * 331, 331), path, row_group_size=50)
        files.append(path)
    first = sample_by_reason(files, 5, seed=7)
    assert {k: len(v) for k, v in first.items()} == {"a": 5, "b": 5, "c": 3}
    for reason, examples in first.items():
        assert all(e.reason == reason for e in examples)
        assert len({e.url for e in examples}) == len(examples)
        for e in examples:  # each example's columns come from one and the same row
            assert e.text == f"text {e.url.rsplit('/', 1)[1]}"
    assert [e.url for e in sample_by_reason(files, 5, seed=7)["a"]] == [e.url for e in first["a"]]
    assert sample_by_reason(files, 5, seed=8)["a"] != first["a"]
    assert list(sample_by_reason(files, 2, reason="b")) == ["b"]
    # uniform: over many seeds, every row of reason b gets picked about equally often
    hits = Counter(e.url for seed in range(300) for e in sample_by_reason(files, 10, seed, "b")["b"])
    assert len(hits) == 90 and max(hits.values()) < 3 * min(hits.values())


# --- explain: the measures are the filters' own rules


def test_measures_agree_with_the_datatrove_filters():
    from datatrove.data import Document
    from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter, GopherRepetitionFilter

    from finemill.stats.explain import Explainer
    from finemill.steps.filters.fineweb_quality import FineWebQualityFilter

    explainer = Explainer(
        {"fineweb_quality": {"rules": "fineweb"}, "c4_quality": {"filter_no_terminal_punct": False}}
    )
    texts = [
        "Too short to be a real document.",
        " ".join(["12 34 56 | 78 || 90 -- the cat and the dog of it"] * 10),
        "\n".join(f"Menu item number {i} on this page of the web site here" for i in range(40)),
        good_text(3) + "\n" + "\n".join(["Subscribe to our newsletter today!"] * 6),
        "Buy cheap pills now\n" * 8 + "Contact us",
        "One sentence here. Another one there.\n" * 2 + GOOD,
        good_text(6),
    ]
    filters = {
        "gopher_quality": GopherQualityFilter(),
        "gopher_repetition": GopherRepetitionFilter(),
        "c4_quality": C4QualityFilter(filter_no_terminal_punct=False),
        "fineweb_quality": FineWebQualityFilter(),
    }
    decided = Counter()
    for text in texts:
        for step, f in filters.items():
            result = f.filter(Document(text=text, id="t"))
            reason = result[1] if isinstance(result, tuple) else None
            measures = explainer.explain(step, None, text)  # every measure of the step
            if reason is None:
                assert all(m.removes is False for m in measures), (
                    step,
                    text[:40],
                    [str(m) for m in measures],
                )
            else:
                (measure,) = explainer.explain(step, reason, text)
                assert measure.removes is True, (step, reason, str(measure))
            decided[reason is None] += 1
    assert decided[True] and decided[False]  # both kept and removed texts were checked


def test_measures_use_the_runs_thresholds():
    from finemill.stats.explain import Explainer

    text = "\n".join(f"Menu item number {i} on this page" for i in range(10))
    (default,) = Explainer({}).explain("fineweb_quality", "line_punct_ratio", text)
    (custom,) = Explainer({"fineweb_quality": {"line_punct_thr": 0.5, "rules": "datatrove"}}).explain(
        "fineweb_quality", "line_punct_ratio", text
    )
    assert (default.threshold, default.removes_when) == (0.12, "<=")
    assert (custom.threshold, custom.removes_when) == (0.5, "<")


def test_inspect_reads_the_settings_the_run_used(tmp_path, capsys, monkeypatch):
    rows, documents = synthetic_rows()
    out = write_run(tmp_path / "run", rows, documents, params={"fineweb_quality": {"line_punct_thr": 0.5}})
    _, shown, _ = cli(capsys, monkeypatch, "inspect", str(out), "--step", "fineweb_quality")
    assert "<= 0.5 (threshold)" in shown  # from work/run.json: `rules: fineweb` is the class default
    stats = json.loads((out / "stats.json").read_text())
    (out / "stats.json").write_text(
        json.dumps({**stats, "settings": {"fineweb_quality": {"line_punct_thr": 0.2}}})
    )
    _, shown, _ = cli(capsys, monkeypatch, "inspect", str(out), "--step", "fineweb_quality")
    assert "<= 0.2 (threshold)" in shown  # stats.json's own record wins


# --- HTML report


@pytest.fixture(scope="module")
def report(run_dir, tmp_path_factory) -> Path:
    from finemill.stats.load import open_run
    from finemill.stats.report import write_report
    from finemill.stats.summary import summarize

    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(summarize(open_run(run_dir)), path, examples=3)
    return path


def test_report_escapes_page_text_and_urls(report):
    page = report.read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "onerror=alert" not in page.replace(
        "&lt;img src=x onerror=alert", ""
    )
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page  # the URL too
    assert 'href="javascript:' not in page and "javascript:alert(3)" in page  # shown, never linked


def test_report_is_self_contained_with_charts_beside_it(report):
    page = report.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    sources = re.findall(r'\s(?:src|href)="([^"#]+)"', page)
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert all(
        s.startswith("data:image/png;base64,")
        or s.startswith("https://good.example")
        or s.startswith("https://copy.example")
        or s.startswith("https://")
        for s in sources
    )
    assert not re.search(r"<(link|iframe|object|embed|script)\b", page, re.I)
    assert not re.search(r'\ssrc="https?:', page) and "@import" not in page and "url(" not in page
    pngs = sorted(report.parent.glob("report-*.png"))
    assert {p.stem.removeprefix("report-") for p in pngs} >= {
        "funnel",
        "reasons",
        "languages",
        "language-score",
        "length",
        "clusters",
    }
    assert {p.read_bytes() for p in pngs} == {base64.b64decode(i) for i in images}
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)
    for text in ("gopher_short_doc", "below_threshold", "detected fr", "2 clusters", "https://menu.example/"):
        assert text in page


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def render(html: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--enable-logging=stderr",
        "--v=0",
    ]  # console messages (CSP violations, script errors) on stderr
    return subprocess.run(
        [chromium(), *flags, *args, html.resolve().as_uri()], capture_output=True, text=True, timeout=120
    )


def test_injected_markup_stays_text_in_a_browser(report, tmp_path):
    if not chromium():
        pytest.skip("chromium not installed (apt-get install chromium)")
    result = render(report, tmp_path, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        ":CONSOLE" not in result.stderr
    )  # nothing blocked by the CSP, no script error: nothing tried to run
    dom = result.stdout
    assert "finemill report" in dom
    assert "<script" not in dom.lower()  # the browser built no script element from page text
    assert '<img src="x"' not in dom and "onerror" not in dom.replace("&lt;img src=x onerror", "")
    assert '&lt;script&gt;alert("pwned")&lt;/script&gt;' in dom


def test_compare_puts_the_extraction_steps_of_two_profiles_on_one_row(run_dir, tmp_path, capsys, monkeypatch):
    fast = tmp_path / "fast"  # the same run, as if made by configs/fineweb-fast.yaml
    shutil.copytree(run_dir, fast)
    (fast / "removed" / "extract").rename(fast / "removed" / "extract_resiliparse")
    for path in (fast / "removed" / "extract_resiliparse").glob("*.parquet"):
        table = pq.read_table(path)
        pq.write_table(
            table.set_column(
                table.schema.get_field_index("step"), "step", pa.array(["extract_resiliparse"] * len(table))
            ),
            path,
        )
    for path in (fast / "stats.json", fast / "work" / "run.json"):
        path.write_text(path.read_text().replace('"extract"', '"extract_resiliparse"'))
    code, out, _ = cli(capsys, monkeypatch, "stats", str(run_dir), str(fast))
    assert code == 0
    lines = {
        line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
        for line in out.splitlines()
        if line.startswith("│")
    }
    assert "extract" not in lines and "extract_resiliparse" not in lines
    row = lines["extract / extract_resiliparse"]
    # columns: A in, B in, A removed, A %, B removed, B %, B - A, B - A (pts)
    assert row[0] == row[1] and row[2] == row[4] == "1" and row[6] == "0"
    assert lines["no_main_text"][2] == lines["no_main_text"][4] == "1"
