"""A micro ablation end to end on the bundled sample (tiny model, a few dozen steps): equal budgets, one
held-out set no variant trained on, a variant that keeps nothing reported, the report recomputed from the
per-run results, and a run killed mid-way that resumes to the numbers of runs made from scratch."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from finemill.ablate.heldout import STEP as HOLDOUT
from finemill.ablate.heldout import is_held_out

pytestmark = pytest.mark.slow

TOKENS_PER_STEP = 128
STEPS = 24


def micro_ablation(folder: Path) -> Path:
    """An ablation file with its base recipe and training config beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "micro",
                "dump": "CC-MAIN-finemill-sample",
                "input": {"paths": [], "limit": 40},
                "workers": 2,
                "steps": [
                    {"url_filter": {}},
                    {"extract": {"timeout": 60}},
                    {"language": {"languages": ["en"]}},
                    {"gopher_quality": {}},
                ],
            },
            sort_keys=False,
        )
    )
    (folder / "train.yaml").write_text(
        yaml.safe_dump(
            {
                "model": {"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 32},
                "micro_batch_size": 4,
                "tokens_per_step": TOKENS_PER_STEP,
                "lr": 3e-3,
                "warmup_steps": 2,
                "log_every": 4,
                "device": "cpu",
            }
        )
    )
    path = folder / "ablation.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "base": "base.yaml",
                "variants": {
                    "base": {},
                    "no_gopher": {"remove": ["gopher_quality"]},
                    "nothing_kept": {"set": {"gopher_quality.min_doc_words": 1_000_000}},
                },
                "train": "train.yaml",
                "tokens": STEPS * TOKENS_PER_STEP,
                "seeds": [0, 1],
                "vocab_size": 512,
                "eval": {"tasks": ["arc_easy"], "limit": 8, "heldout_fraction": 0.2, "curve_points": 3},
            },
            sort_keys=False,
        )
    )
    return path


def ablate(path: Path, out: Path, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "finemill.cli", "ablate", str(path), "--out", str(out), "--device", "cpu"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


@dataclass
class Micro:
    out: Path  # the ablation's folder
    report: dict  # its ablation.json
    stdout: str  # the rerun's
    stderr: str
    killed_run: Path  # the training run the kill cut short


@pytest.fixture(scope="module")
def micro(tmp_path_factory) -> Micro:
    """The micro ablation SIGKILLed during its last training (three results written, the fourth run
    checkpointed), then the same command again: every test below reads the resumed ablation, and
    test_killed_mid_way_resumes_to_what_fresh_runs_give checks its numbers against runs made from scratch."""
    root = tmp_path_factory.mktemp("ablate")
    path, out = micro_ablation(root / "spec"), root / "out"
    process = ablate(path, out, start_new_session=True)
    deadline = time.monotonic() + 600
    while (killed_run := last_training_checkpointed(out)) is None:  # the rerun trains only its rest
        assert process.poll() is None and time.monotonic() < deadline, "ended before its last checkpoint"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert len(list(out.glob("runs/*/seed-*/result.json"))) == 3  # work was left
    process = ablate(path, out)
    stdout, stderr = process.communicate(timeout=900)
    assert process.returncode == 0, stderr[-3000:]
    return Micro(out, json.loads((out / "ablation.json").read_text()), stdout, stderr, killed_run)


def results(out: Path) -> dict[tuple[str, int], dict]:
    found = {}
    for path in sorted((out / "runs").glob("*/seed-*/result.json")):
        r = json.loads(path.read_text())
        found[r["variant"], r["seed"]] = r
    return found


def test_prints_the_table_and_writes_json_png_html(micro):
    out, report, stdout = micro.out, micro.report, micro.stdout
    assert "Ablation" in stdout and "no_gopher" in stdout and "nothing_kept" in stdout
    assert (out / "ablation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "ablation.html").read_text()
    assert "Content-Security-Policy" in page and "<script" not in page and "data:image/png;base64," in page
    for variant in ("base", "no_gopher", "nothing_kept"):  # each variant is a finemill run folder
        stats = json.loads((out / "variants" / variant / "stats.json").read_text())
        assert (
            stats["documents"]["count"]
            == report["variants"][["base", "no_gopher", "nothing_kept"].index(variant)]["documents"]
        )


def test_equal_token_budgets_and_epochs_reported(micro):
    out, report = micro.out, micro.report
    runs = results(out)
    assert set(runs) == {(v, s) for v in ("base", "no_gopher") for s in (0, 1)}
    for r in runs.values():
        assert r["steps"] == STEPS and r["tokens_seen"] == STEPS * TOKENS_PER_STEP
        manifest = json.loads((out / "variants" / r["variant"] / "tokens" / "manifest.json").read_text())
        assert r["train_tokens"] == manifest["splits"]["train"]["tokens"] > 0
        assert r["epochs"] == pytest.approx(r["tokens_seen"] / r["train_tokens"])
    rows = {row["name"]: row for row in report["variants"]}
    assert rows["no_gopher"]["train_tokens"] > rows["base"]["train_tokens"]  # the filter removed something
    assert rows["base"]["epochs"] == pytest.approx(STEPS * TOKENS_PER_STEP / rows["base"]["train_tokens"])


def test_says_which_training_settings_it_overrides(micro):
    report, stdout, stderr = micro.report, micro.stdout, micro.stderr
    # train.yaml leaves these at TrainConfig's defaults; --device cpu is what train.yaml says: not listed
    expected = {
        "max_steps": (1000, STEPS),
        "checkpoint_every": (500, STEPS // 3),
        "keep_checkpoints": (2, 1_000_000),
        "eval_every": (100, 0),
        "sample_every": (200, 0),
    }
    recorded = report["settings"]["overrides"]
    assert {o["key"]: (o["config"], o["ablate"]) for o in recorded} == expected
    assert all(o["why"] for o in recorded)
    head = stderr.split("held-out texts:")[0]  # printed at start, before any data is processed
    assert "training settings the ablation overrides in" in head and "train.yaml" in head
    for key, (before, after) in expected.items():
        assert f"  {key}: {before} -> {after} (" in head
    assert "device:" not in head
    assert "training settings overridden: max_steps 1000 -> 24, checkpoint_every 500 -> 8" in stdout


def test_one_heldout_set_that_no_variant_trained_on(micro):
    out, report = micro.out, micro.report
    shared = out / report["settings"]["shared_run"]
    held = pq.read_table(sorted((shared / "removed" / HOLDOUT).glob("*.parquet")), columns=["url", "text"])
    held_urls = set(held.column("url").to_pylist())
    assert held_urls and all(is_held_out(u, 0.2) for u in held_urls)
    assert (
        pq.read_table(out / "heldout" / "texts.parquet").column("text").to_pylist()
        == held.column("text").to_pylist()
    )
    for variant in ("base", "no_gopher"):
        docs = (
            pq.read_table(out / "variants" / variant / "documents", columns=["url"]).column("url").to_pylist()
        )
        assert docs and not held_urls & set(docs) and not any(is_held_out(u, 0.2) for u in docs)
    # every run measured bits per byte on that one file
    assert {r["unit"]["heldout"] for r in results(out).values()} == {str(out / "heldout" / "texts.parquet")}


def test_a_variant_that_keeps_nothing_is_reported_not_trained(micro):
    out, report, stdout = micro.out, micro.report, micro.stdout
    row = next(r for r in report["variants"] if r["name"] == "nothing_kept")
    assert row["documents"] == 0 and row["error"] == "kept no documents" and row["seeds"] == []
    assert "nothing_kept: kept no documents; not trained" in stdout
    assert not (out / "runs" / "nothing_kept").exists()


def test_report_numbers_recomputed_from_the_runs(micro):
    from scipy.stats import ttest_ind

    out, report = micro.out, micro.report
    runs = results(out)
    rows = {row["name"]: row for row in report["variants"]}
    for variant in ("base", "no_gopher"):
        bpb = [runs[variant, s]["bpb"] for s in (0, 1)]
        assert rows[variant]["bpb"]["mean"] == pytest.approx(np.mean(bpb))
        assert rows[variant]["bpb"]["std"] == pytest.approx(np.std(bpb, ddof=1))
        acc = [runs[variant, s]["tasks"]["arc_easy"]["score"] for s in (0, 1)]
        assert rows[variant]["tasks"]["arc_easy"]["mean"] == pytest.approx(np.mean(acc))
        assert rows[variant]["aggregate"]["mean"] == pytest.approx(
            np.mean([runs[variant, s]["aggregate"] for s in (0, 1)])
        )
        # the final bits per byte is the curve's last point, the curve's points are the checkpoints
        assert [p["step"] for p in runs[variant, 0]["curve"]] == [8, 16, 24]
        assert runs[variant, 0]["bpb"] == runs[variant, 0]["curve"][-1]["bpb"]
    a, b = [runs["no_gopher", s]["bpb"] for s in (0, 1)], [runs["base", s]["bpb"] for s in (0, 1)]
    test = rows["no_gopher"]["vs_reference"]["bpb"]
    assert test["difference"] == pytest.approx(np.mean(a) - np.mean(b))
    expected = ttest_ind(a, b, equal_var=False)
    if math.isnan(expected.pvalue):
        assert test["p"] is None
    else:
        assert test["p"] == pytest.approx(expected.pvalue) and test["t"] == pytest.approx(expected.statistic)
    # a curve point is the mean over seeds at that step
    curve = rows["base"]["curve"]
    assert curve[0]["bpb"] == pytest.approx(np.mean([runs["base", s]["curve"][0]["bpb"] for s in (0, 1)]))


def same_task_results(got: dict, expected: dict) -> bool:
    """The same picks and scores; bits per byte (a float sum over items) to within float rounding."""
    for task, result in expected.items():
        exact = {k: v for k, v in result.items() if k != "gold_bpb"}
        if {k: v for k, v in got[task].items() if k != "gold_bpb"} != exact:
            return False
        if got[task].get("gold_bpb") != pytest.approx(result.get("gold_bpb"), rel=1e-6):
            return False
    return set(got) == set(expected)


def last_training_checkpointed(out: Path) -> Path | None:
    """The fourth training run once three of the four have their results and it has written a checkpoint."""
    runs = list(out.glob("runs/*/seed-*"))
    unfinished = [r for r in runs if not (r / "result.json").is_file()]
    checkpointed = [r for r in unfinished if list((r / "checkpoints").glob("step_*.pt"))]
    return checkpointed[0] if len(runs) - len(unfinished) == 3 and checkpointed else None


def test_killed_mid_way_resumes_to_what_fresh_runs_give(micro, tmp_path):
    """The run the kill cut short, resumed from its checkpoint, and one that finished before the kill give
    what the same two units give trained from scratch, two at a time in worker processes (so this also
    checks that parallel runs equal the ablation's one-after-another runs)."""
    from dataclasses import replace

    from finemill.ablate.runs import Unit, run_units

    done = results(micro.out)
    resumed = next(key for key, r in done.items() if r["unit"]["run_dir"] == str(micro.killed_run))
    finished_before = next(key for key in done if key != resumed)
    units = [
        replace(Unit(**done[key]["unit"]), run_dir=str(tmp_path / f"{key[0]}-{key[1]}"))
        for key in (resumed, finished_before)
    ]
    fresh = run_units(units, parallel=2, log=lambda _msg: None)
    for key, r in zip((resumed, finished_before), fresh, strict=True):
        assert (r["variant"], r["seed"], r["steps"]) == (*key, STEPS)
        assert r["bpb"] == pytest.approx(done[key]["bpb"], rel=1e-4), key
        assert same_task_results(r["tasks"], done[key]["tasks"]), key
