"""benchmarks/quality/minhash.py on the real human-judged pairs: MinHash at FineWeb's settings flags similar
pages more often, and its flags follow the S-curve of the pairs' measured Jaccard similarity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.quality import minhash as bench
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def results():
    pairs = bench.load_pairs(shared_file("neardup/cc1511_pairs.jsonl.gz"))
    assert len(pairs) == 240
    return bench.evaluate_pairs(pairs)


def test_core_functions_on_small_cases():
    assert bench.jaccard({"a", "b"}, {"b", "c"}) == pytest.approx(1 / 3)
    assert math.isnan(bench.jaccard(set(), set()))
    assert bench.detection_probability(0.0) == 0.0 and bench.detection_probability(1.0) == 1.0
    assert 0.9 < bench.detection_probability(0.8) < 0.95  # datatrove's docstring: 0.924
    signer = bench.fineweb_signer()
    text = "the quick brown fox jumps over the lazy dog while the cat sleeps in the warm sun all day"
    sig = bench.signature(signer, text)
    assert sig.shape == (14, 8)
    assert bench.flagged(sig, bench.signature(signer, text.upper() + "!"))  # normalisation: same shingles
    assert not bench.flagged(
        sig, bench.signature(signer, "an entirely different page about cooking pasta at home")
    )
    assert bench.signature(signer, "four words only here") is None
    assert not bench.flagged(None, sig)


def test_closer_human_labels_are_flagged_more_often(results):
    share = {row["label"]: row["share"] for row in bench.label_table(results)}
    assert share["3"] > share["2"] > share["1"] > share["0.5"]
    assert share["3"] - share["0.5"] > 0.5


def test_flags_follow_the_s_curve_of_measured_jaccard(results):
    known = [r for r in results if not math.isnan(r.jaccard)]
    s = np.array([r.jaccard for r in known])
    hit = np.array([r.flagged for r in known])
    p = bench.detection_probability(s)
    # Almost certain either way on the curve -> the flag agrees.
    assert hit[p > 0.999].all() and (p > 0.999).any()
    assert not hit[p < 0.001].any() and (p < 0.001).any()
    # The count flagged is within 3 standard deviations of what the curve predicts from the Jaccards.
    assert abs(hit.sum() - p.sum()) <= 3 * math.sqrt((p * (1 - p)).sum()) + 1
    # Flagged pairs are the more similar ones.
    assert np.median(s[hit]) > np.median(s[~hit])


def test_plot_is_written(results, tmp_path):
    path = tmp_path / "quality.png"
    bench.plot(results, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_speed_part_runs_on_a_few_documents():
    pytest.importorskip("datasketch")
    texts = bench.load_docs(shared_file("crawl/CC-MAIN-2019-30-extracted-text.jsonl.gz"))[:5]
    times = bench.speed(texts, repeats=1)
    assert set(times) >= {"finemill", "datatrove", "datasketch", "finemill_shingles", "fineweb_shingling"}
    assert all(t >= 0 for t in times.values())
