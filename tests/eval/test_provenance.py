"""`finemill eval` warns when a classifier trained on a task's own text selected the training data: the chain
checkpoint state -> tokens manifest -> run folder -> stats.json's classifiers."""

from __future__ import annotations

import json

from finemill.eval.provenance import classifier_warnings, training_run


def chain(tmp_path, classifiers: dict) -> dict:
    run = tmp_path / "run"
    (run / "documents").mkdir(parents=True)
    (run / "stats.json").write_text(
        json.dumps({"reader": {}, "steps": [], "documents": {}, "classifiers": classifiers})
    )
    tokens = run / "tokens"
    tokens.mkdir()
    (tokens / "manifest.json").write_text(json.dumps({"source": {"documents_dir": str(run / "documents")}}))
    return {"tokenizer": {"tokens_dir": str(tokens)}}


def test_warns_on_the_classifiers_own_tasks_only(tmp_path):
    state = chain(tmp_path, {"quality_fasttext": {"model": "demo.bin", "benchmark_tasks": ["boolq", "sciq"]}})
    assert training_run(state) == tmp_path / "run"
    warnings = classifier_warnings(state, ["boolq", "hellaswag", "sciq"])
    assert [w.split(":")[0] for w in warnings] == ["boolq", "sciq"]
    assert "quality_fasttext (demo.bin)" in warnings[0]
    assert classifier_warnings(state, ["hellaswag"]) == []


def test_no_chain_no_warning(tmp_path):
    assert classifier_warnings({}, ["boolq"]) == []
    assert classifier_warnings({"tokenizer": {"tokens_dir": str(tmp_path / "gone")}}, ["boolq"]) == []
    assert classifier_warnings(chain(tmp_path, {}), ["boolq"]) == []
