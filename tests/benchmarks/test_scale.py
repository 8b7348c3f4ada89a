"""benchmarks/speed/scale.py and scale_inputs.py: the builder's documents (distinct ids and URLs, the planted
near-duplicate share, no page copied whole, the same bytes for the same seed) and one full run that prints
every column."""

from __future__ import annotations

import gzip
import json
import subprocess
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import pytest

from benchmarks.common import child_env, module_command
from benchmarks.speed import scale, scale_inputs
from benchmarks.speed.scale_mixes import extraction_kept_shares, largest_overlap, units
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def pages() -> list[scale_inputs.Page]:
    shared_file("extraction/aeb_ground_truth.json")
    shared_file("crawl/CC-MAIN-2019-30-extracted-text.jsonl.gz")
    return scale_inputs.source_pages()


def test_documents_are_distinct_recombined_and_planted_at_the_share(pages):
    documents = list(scale_inputs.documents(200, 0.2, seed=3, pages=pages))
    assert len({d.id for d in documents}) == len({d.url for d in documents}) == 200
    planted = [d for d in documents if d.original is not None]
    assert 0.12 <= len(planted) / 200 <= 0.28  # the share asked for, within chance
    ids = {d.id for d in documents}
    assert all(d.original in ids and d.original != d.id for d in planted)
    for document in documents:
        held = set(document.paragraphs)
        assert not any(held.issuperset(page.paragraphs) for page in pages), "a whole page was copied"
    uniques = [d for d in documents if d.original is None]
    for document in uniques:  # recombined: paragraphs from three pages or more
        assert sum(bool(set(page.paragraphs) & set(document.paragraphs)) for page in pages) >= 3
    originals = {d.id: d for d in uniques}
    assert all(d.text != originals[d.original].text for d in planted)  # every duplicate was edited


@pytest.mark.parametrize("mix", ["paragraphs", "sentences"])
def test_unique_documents_rarely_share_much_text_by_chance(pages, mix):
    """Any two unique documents share at most a small part of their words (MinHash's threshold is near a
    Jaccard of 0.72): the units a document recombines (paragraphs, or sentences) are drawn one by one from
    the whole pool, none over a quarter of a document. Runs of consecutive paragraphs (the first version)
    gave 153 pairs above 0.4 here, up to 0.75."""
    documents = [units(d, mix) for d in scale_inputs.documents(2000, 0.0, seed=5, pages=pages, mix=mix)]
    assert all(len(set(held)) == len(held) for held in documents)  # no unit twice in a document
    assert 0 < largest_overlap(documents) < 0.4
    for held in documents:
        words = [len(unit.split()) for unit in held]
        assert max(words) <= 0.25 * sum(words)


def test_sentence_mix_makes_every_paragraph_new(pages):
    """--mix sentences: each paragraph of a unique document joins two or more real sentences of other
    paragraphs, so almost no paragraph is a pool paragraph or recurs in another document (two
    sentences drawn twice in the same order: chance; extraction drops a paragraph only at its fourth)."""
    documents = list(scale_inputs.documents(3000, 0.0, seed=5, pages=pages, mix="sentences"))
    pool = {p for page in pages for p in page.paragraphs}
    sentences = set(scale_inputs.SentencePool.of(pages).sentences)
    paragraphs = [p for d in documents for p in d.paragraphs]
    recurring = Counter(paragraphs) - Counter(set(paragraphs))
    assert (
        len(paragraphs) > 20_000 and sum(recurring.values()) <= 10 and max(recurring.values(), default=0) <= 1
    )
    assert len(pool & set(paragraphs)) <= 3  # a real paragraph's sentences drawn in their order: chance
    split = [scale_inputs.SENTENCE_END.split(p) for p in paragraphs]
    assert all(len(parts) >= 2 and sentences.issuperset(parts) for parts in split)


@pytest.mark.slow
def test_extraction_keeps_the_sentence_mix_text_where_it_drops_recurring_paragraphs(pages):
    """Why the WARC curve uses --mix sentences: FineWeb's extraction drops a paragraph it has seen three
    times already (trafilatura's deduplicate cache), so on pages that recombine whole paragraphs it drops
    more the more pages one process extracts; on the sentence mix it keeps the text (the few misses are the
    planted duplicates' boilerplate and paragraphs extraction rewrites)."""
    [sentences] = extraction_kept_shares(pages, "sentences", [2500])
    paragraphs_small, paragraphs = extraction_kept_shares(pages, "paragraphs", [500, 2500])
    assert sentences >= 0.98
    assert paragraphs < paragraphs_small - 0.03 and paragraphs < sentences - 0.05


def test_build_is_deterministic_and_streams_both_formats(tmp_path, pages):
    first = scale_inputs.build(tmp_path / "a", 200, "jsonl", 4, 0.1, seed=7, pages=pages)
    second = scale_inputs.build(tmp_path / "b", 200, "jsonl", 4, 0.1, seed=7, pages=pages)
    texts = [[gzip.decompress(Path(f).read_bytes()) for f in built["files"]] for built in (first, second)]
    assert texts[0] == texts[1] and len(first["files"]) == 4
    lines = [json.loads(line) for f in first["files"] for line in gzip.open(f, "rt")]
    assert len(lines) == 200 and {"id", "url", "date", "text"} <= set(lines[0])
    planted = (tmp_path / "a" / scale_inputs.PLANTED_FILE).read_text().splitlines()
    assert len(planted) == first["planted"] > 0
    warc = scale_inputs.build(tmp_path / "w", 20, "warc", 2, 0.1, seed=7, pages=pages)
    from warcio.archiveiterator import ArchiveIterator

    pages_html = []
    for path in warc["files"]:
        with open(path, "rb") as stream:
            records = ArchiveIterator(stream)
            pages_html += [r.content_stream().read() for r in records if r.rec_type == "response"]
    assert len(pages_html) == 20 and all(b"<article>" in page for page in pages_html)


def test_runs_written_apart_combine_with_slopes_in_size_order(tmp_path):
    """--append and --report: a 1M run added to a file of smaller runs gets its slope from the next size."""

    def run(documents: int, cpu_s: float) -> scale.SizeRun:
        result = scale.SizeRun(documents, "jsonl", 16, documents, {"pairs": documents // 10})
        result.stages = {stage: scale.Row(cpu_s=cpu_s / 4) for stage in scale.STAGES}
        result.total = scale.Row(cpu_s=cpu_s)
        return result

    path = tmp_path / "curve.json"
    older = asdict(run(10_000, 80.0))
    del older["mix"]  # files written before --mix existed: their runs recombined paragraphs
    path.write_text(json.dumps([asdict(run(1_000_000, 8000.0)), older]))
    runs = sorted(scale.load_runs(path), key=lambda r: r.documents)
    assert {r.mix for r in runs} == {"paragraphs"}
    scale.add_slopes(runs)
    assert [r.documents for r in runs] == [10_000, 1_000_000]
    assert runs[0].total.slope is None and runs[1].total.slope == pytest.approx(1.0)
    assert runs[1].stages["buckets"].slope == pytest.approx(1.0)


@pytest.mark.slow
def test_a_run_at_300_documents_prints_every_column(tmp_path, pages):
    """Two sizes (the second gets slopes and the clusters' bytes per pair) in 2 files, not the default 16:
    each file is a filter and a finalize task with its own start-up, which at this size is most of the time;
    2 files still put most planted duplicates in another file than their original."""
    command = module_command("benchmarks.speed.scale", "--sizes", "150,300", "--files", "2")
    result = subprocess.run(
        [*command, "--json", str(tmp_path / "s.json")],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for column in ("wall s", "CPU s", "CPU ms/doc", "peak RSS MB", "disk B/doc", "slope"):
        assert column in result.stdout
    for stage in ("filter", "buckets", "clusters", "finalize", "other", "total"):
        assert f"\n{stage} " in result.stdout
    assert "planted near-duplicates:" in result.stdout and "MinHash removed:" in result.stdout
    runs = json.loads((tmp_path / "s.json").read_text())
    assert [(run["documents"], run["files"]) for run in runs] == [(150, 2), (300, 2)]
    big = runs[1]
    assert big["total"]["slope"] is not None and big["total"]["cpu_s"] > 0
    assert big["stages"]["filter"]["peak_rss_mb"] > 0 and big["total"]["disk_bytes"] > 0
    dups = big["duplicates"]
    assert 0 < dups["planted_reaching_minhash"] <= dups["planted"]
    # MinHash finds the planted pairs that reached it (a few may fall under its threshold by chance)
    assert dups["removed_in_planted_pairs"] >= 0.7 * dups["planted_reaching_minhash"]
    assert dups["pairs"] >= dups["removed_in_planted_pairs"] > 0
    assert "bytes per new pair" in result.stdout and "clusters_rss_bytes_per_pair" in big
