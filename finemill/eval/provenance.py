"""Where the model's training data came from, as far as eval can see: the checkpoint names its tokens folder,
the tokens manifest names the documents folder it was made from, and that run's stats.json lists the quality
classifiers the recipe used, with the benchmark tasks whose text trained them (`classifiers`, from each
model card). A task scored on a model whose data a classifier trained on that task's own text selected is
contaminated in spirit: the data was pulled toward the benchmark's passages. Eval says so, per task.
"""

from __future__ import annotations

import json
from pathlib import Path

from finemill import run_folder


def training_run(state: dict) -> Path | None:
    """The run folder whose documents the model was trained on (None where the chain is broken)."""
    tokens_dir = (state.get("tokenizer") or {}).get("tokens_dir")
    if not tokens_dir:
        return None
    try:
        manifest = json.loads((Path(tokens_dir) / "manifest.json").read_text(encoding="utf-8"))
        documents = Path(manifest["source"]["documents_dir"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return documents.parent


def classifier_warnings(state: dict, tasks: list[str]) -> list[str]:
    """One line per task that a classifier upstream was trained on."""
    run = training_run(state)
    stats = run_folder.read_stats(run) if run is not None and run.is_dir() else None
    warnings = []
    for step, classifier in ((stats or {}).get("classifiers") or {}).items():
        for task in sorted(set(tasks) & set(classifier.get("benchmark_tasks") or [])):
            warnings.append(
                f"{task}: the training data was filtered by {step} ({classifier.get('model')}), a classifier "
                f"trained on {task}'s own passages; its score on {task} is not a clean measure"
            )
    return warnings
