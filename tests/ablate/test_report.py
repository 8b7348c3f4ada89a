"""The ablation report from per-run results: statistics as numpy and scipy compute them, and a page that
escapes every name it shows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ttest_ind

from finemill.ablate.report import build_report, curve_png, render_html, table_rows, welch


def run(variant: str, seed: int, bpb: float, acc: float, train_tokens: int) -> dict:
    curve = [{"step": 10, "tokens": 1280, "bpb": bpb + 0.5}, {"step": 20, "tokens": 2560, "bpb": bpb}]
    return {
        "variant": variant,
        "seed": seed,
        "steps": 20,
        "tokens_seen": 2560,
        "train_tokens": train_tokens,
        "epochs": 2560 / train_tokens,
        "bpb": bpb,
        "curve": curve,
        "aggregate": (acc - 0.25) / 0.75,
        "gold_bpb": bpb + 1.0 - acc,
        "tasks": {
            "arc_easy": {
                "n": 100,
                "score": acc,
                "centered": (acc - 0.25) / 0.75,
                "chance": 0.25,
                "metric": "acc",
            }
        },
    }


@pytest.fixture
def report() -> dict:
    rng = np.random.default_rng(0)
    variants = [
        {
            "name": "base",
            "steps": ["minhash"],
            "documents": 100,
            "chars": 10_000,
            "train_tokens": 2000,
            "error": None,
        },
        {
            "name": "<b>loose</b>",
            "steps": [],
            "documents": 150,
            "chars": 15_000,
            "train_tokens": 3000,
            "error": None,
        },
        {
            "name": "empty",
            "steps": ["language"],
            "documents": 0,
            "chars": 0,
            "train_tokens": 0,
            "error": "kept no documents",
        },
    ]
    results = [run("base", s, 2.0 + rng.normal(0, 0.01), 0.3 + rng.normal(0, 0.02), 2000) for s in range(3)]
    results += [
        run("<b>loose</b>", s, 2.1 + rng.normal(0, 0.01), 0.28 + rng.normal(0, 0.02), 3000) for s in range(3)
    ]
    settings = {
        "seeds": [0, 1, 2],
        "tokens": 2560,
        "steps": 20,
        "tokens_per_step": 128,
        "ablation_file": "a.yaml",
        "base": "b.yaml",
        "train": "t.yaml",
        "shared_steps": ["extract"],
        "heldout": {"source": "held-out <i>texts</i>", "bytes": 10, "texts": 1, "fraction": 0.1},
    }
    return {"results": results, **build_report(variants, results, settings)}


def test_mean_std_and_welch_as_numpy_and_scipy(report):
    rows = {r["name"]: r for r in report["variants"]}
    for name in ("base", "<b>loose</b>"):
        bpb = [r["bpb"] for r in report["results"] if r["variant"] == name]
        assert rows[name]["bpb"]["mean"] == pytest.approx(np.mean(bpb))
        assert rows[name]["bpb"]["std"] == pytest.approx(np.std(bpb, ddof=1))
    a = [r["bpb"] for r in report["results"] if r["variant"] == "<b>loose</b>"]
    b = [r["bpb"] for r in report["results"] if r["variant"] == "base"]
    expected = ttest_ind(a, b, equal_var=False)
    test = rows["<b>loose</b>"]["vs_reference"]["bpb"]
    assert test["p"] == pytest.approx(expected.pvalue) and test["t"] == pytest.approx(expected.statistic)
    assert test["significant"] == (expected.pvalue < 0.05)
    assert rows["<b>loose</b>"]["documents_share"] == 1.5 and rows["<b>loose</b>"]["epochs"] == pytest.approx(
        2560 / 3000
    )
    assert rows["empty"]["seeds"] == [] and "vs_reference" not in rows["empty"]
    assert welch([1.0], [2.0, 3.0])["p"] is None  # one seed: no test, the difference only
    assert welch([1.0, 1.0], [2.0, 2.0]) == {"difference": -1.0, "t": None, "p": None, "significant": None}


def test_the_page_escapes_names_and_embeds_the_plot(report):
    png = curve_png(report)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    page = render_html(report, png)
    assert "<b>loose</b>" not in page and "&lt;b&gt;loose&lt;/b&gt;" in page
    assert "<i>texts</i>" not in page and "<script" not in page
    assert "Content-Security-Policy" in page and "data:image/png;base64," in page
    header, rows = table_rows(report)
    assert len(rows) == 3 and all(len(r) == len(header) for r in rows)
    assert rows[2][1] == "0 (0%)" and rows[2][4] == "-"


def test_variants_ranked_by_both_bits_per_byte(report):
    rows = {r["name"]: r for r in report["variants"]}
    gold = [r["gold_bpb"] for r in report["results"] if r["variant"] == "base"]
    assert rows["base"]["gold_bpb"]["mean"] == pytest.approx(np.mean(gold))
    a = [r["gold_bpb"] for r in report["results"] if r["variant"] == "<b>loose</b>"]
    assert rows["<b>loose</b>"]["vs_reference"]["gold_bpb"]["p"] == pytest.approx(
        ttest_ind(a, gold, equal_var=False).pvalue
    )
    # base: lower held-out and gold bits per byte and higher accuracy; the empty variant has no runs
    assert report["ranking"] == {m: ["base", "<b>loose</b>"] for m in ("bpb", "gold_bpb", "aggregate")}
    header, cells = table_rows(report)
    assert header[-2:] == ["gold bpb", "Δ gold bpb"] and cells[2][-2:] == ["-", ""]


def test_seeds_needed_from_the_seed_variance(report):
    from scipy.stats import norm

    from finemill.ablate.report import notes, seeds_needed

    a, b = [1.0, 1.2, 1.1], [1.0, 1.1, 0.9]
    d, variance = np.mean(a) - np.mean(b), np.var(a, ddof=1) + np.var(b, ddof=1)
    expected = (norm.ppf(0.975) + norm.ppf(0.8)) ** 2 * variance / d**2
    assert seeds_needed(a, b) == int(np.ceil(expected - 1e-6))
    assert seeds_needed([1.0], b) is None and seeds_needed(b, b) is None
    row = next(r for r in report["variants"] if r["name"] == "<b>loose</b>")
    assert set(row["seeds_needed"]) == {"bpb", "gold_bpb"}
    assert all("seeds per variant" not in line for line in notes(report))  # both differences are significant
