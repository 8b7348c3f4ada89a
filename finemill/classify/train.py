"""Train a fastText quality classifier by DCLM's recipe: supervised fastText on word bigrams
(wordNgrams=2) over normalised text (`finemill.text.classifier_text.normalise`), `__label__hq` for the
positives and `__label__cc` for the negatives, as DCLM names them.

A seeded share of each class is held out; the model's probability of `hq` on it gives precision and recall
at 0.5 and the ROC AUC. The model card (`M.card.json` and `M.card.md` beside `M.bin`) records the sources,
the counts, the settings, the normalisation the step must apply, and the metrics.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from finemill.classify.metrics import summary
from finemill.classify.texts import iter_texts
from finemill.errors import FinemillError
from finemill.steps.filters.model_card import card_path
from finemill.text.classifier_text import normalise

POSITIVE, NEGATIVE = "hq", "cc"


@dataclass
class TrainSettings:
    """fastText's supervised settings (wordNgrams=2 is DCLM's); one thread by default, so a seed gives the
    same model."""

    dim: int = 64
    epoch: int = 5
    lr: float = 0.1
    word_ngrams: int = 2
    min_count: int = 1
    bucket: int = 2_000_000
    threads: int = 1
    seed: int = 0
    heldout: float = 0.1
    max_docs: int | None = None  # per class


@dataclass
class Dataset:
    train: list[tuple[str, str]]  # (label, normalised text)
    heldout: list[tuple[str, str]]
    counts: dict[str, int]


def load_dataset(positive: list[str], negative: list[str], settings: TrainSettings) -> Dataset:
    """Normalised texts of both classes, shuffled and split; one-line errors for an empty class."""
    rng = random.Random(settings.seed)
    train, heldout, counts = [], [], {}
    for label, sources, flag in ((POSITIVE, positive, "--positive"), (NEGATIVE, negative, "--negative")):
        if not sources:
            raise FinemillError(f"no {flag} source given")
        texts = [t for t in (normalise(x) for x in iter_texts(sources, settings.max_docs)) if t]
        if len(texts) < 2:
            raise FinemillError(
                f"{flag}: {len(texts)} non-empty document(s) in {', '.join(sources)}; need >= 2"
            )
        rng.shuffle(texts)
        held = max(1, round(len(texts) * settings.heldout)) if settings.heldout > 0 else 0
        heldout += [(label, t) for t in texts[:held]]
        train += [(label, t) for t in texts[held:]]
        counts[label] = len(texts)
    rng.shuffle(train)
    return Dataset(train, heldout, counts)


def train_classifier(
    positive: list[str], negative: list[str], model_path: str | Path, settings: TrainSettings, **card: Any
) -> dict[str, Any]:
    """Train, evaluate on the held-out split, save the model and its card; returns the card. `card` adds
    fields (the demo's benchmark tasks)."""
    import fasttext

    if not 0 <= settings.heldout < 1:
        raise FinemillError(f"--heldout must be in [0, 1), got {settings.heldout}")
    started = time.perf_counter()
    data = load_dataset(positive, negative, settings)
    model_path = Path(model_path)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        train_file = Path(tmp) / "train.txt"
        train_file.write_text("".join(f"__label__{label} {text}\n" for label, text in data.train), "utf-8")
        model = _train(
            fasttext,
            input=str(train_file),
            dim=settings.dim,
            epoch=settings.epoch,
            lr=settings.lr,
            wordNgrams=settings.word_ngrams,
            minCount=settings.min_count,
            bucket=settings.bucket,
            thread=settings.threads,
            seed=settings.seed,
            verbose=0,
        )
    model.save_model(str(model_path))
    metrics = heldout_metrics(model, data.heldout) if data.heldout else {}
    card_data = {
        "model": model_path.name,
        "kind": "fasttext",
        "labels": {"positive": POSITIVE, "negative": NEGATIVE},
        "normalisation": "dclm",
        "sources": {"positive": [str(s) for s in positive], "negative": [str(s) for s in negative]},
        "documents": data.counts,
        "trained_on": {
            POSITIVE: data.counts[POSITIVE] - metrics.get("heldout_positive", 0),
            NEGATIVE: data.counts[NEGATIVE] - metrics.get("heldout_negative", 0),
        },
        "settings": {**asdict(settings), **model.trained_with},
        "metrics": metrics,
        "train_seconds": round(time.perf_counter() - started, 2),
        **card,
    }
    write_card(model_path, card_data)
    return card_data


# fastText raises "Encountered NaN" when training diverges. With this wheel it also happens at random: the
# same file and settings fail on some runs and succeed on others, more often the more the process has
# imported (on 200 real pages: 4 of 10 runs fail in a bare interpreter, 8 of 10 after importing pyarrow), which
# points at memory fastText reads before writing it. A run that succeeds with the same seed trains the same
# model. So each try trains in a fresh interpreter that imports fastText alone; after two tries with the
# settings as asked, the next seeds, then half the learning rate. The card records what trained the model.
TRIES = 12
_CHILD = """
import json, sys
import fasttext
try:
    model = fasttext.train_supervised(**json.loads(sys.argv[1]))
except RuntimeError as e:
    sys.exit(f"fastText: {e}")
model.save_model(sys.argv[2])
"""


def _train(fasttext: Any, **settings: Any) -> Any:
    import subprocess
    import sys

    lr, seed = settings["lr"], settings["seed"]
    target = Path(settings["input"]).with_name("model.bin")
    for attempt in range(TRIES):
        settings.update(seed=seed + max(0, attempt - 1), lr=lr if attempt < TRIES // 2 else lr / 2)
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, json.dumps(settings), str(target)], capture_output=True, text=True
        )
        if done.returncode == 0:
            model = fasttext.FastText._FastText(str(target))  # load_model, without its warning
            model.trained_with = {
                "lr": settings["lr"],
                "fasttext_seed": settings["seed"],
                "tries": attempt + 1,
            }
            return model
        error = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        if "NaN" not in error or attempt == TRIES - 1:
            raise FinemillError(f"fastText training failed: {error} (try a lower --lr)")
    raise AssertionError("unreachable")


def heldout_metrics(model: Any, heldout: list[tuple[str, str]]) -> dict[str, Any]:
    """Precision, recall (at P(hq) >= 0.5) and ROC AUC of the model's P(hq) on the held-out texts."""
    scores = np.array([probability(model, text, POSITIVE) for _, text in heldout])
    positive = np.array([label == POSITIVE for label, _ in heldout])
    return summary(scores, positive, 0.5)


def probability(model: Any, line: str, label: str) -> float:
    for p, name in model.f.predict(line + "\n", -1, 0.0, "strict"):
        if name == f"__label__{label}":
            return p
    return 0.0


def write_card(model_path: Path, card: dict[str, Any]) -> None:
    """`M.card.json` (read by the recipe step, run and eval) and `M.card.md` (for people)."""
    path = card_path(model_path)
    path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    m = card.get("metrics", {})
    lines = [
        f"# Quality classifier `{card['model']}`",
        "",
        "fastText supervised, DCLM's recipe: word bigrams over lower-cased text with punctuation split and "
        "whitespace collapsed; `__label__hq` = positives, `__label__cc` = negatives.",
        "",
        f"- positives: {', '.join(card['sources']['positive'])} ({card['documents'][POSITIVE]:,} documents)",
        f"- negatives: {', '.join(card['sources']['negative'])} ({card['documents'][NEGATIVE]:,} documents)",
    ]
    if card.get("benchmark_tasks"):
        lines.append(f"- benchmark text among the positives: {', '.join(card['benchmark_tasks'])}")
    lines.append(f"- settings: {json.dumps(card['settings'])}")
    if m:
        lines.append(
            f"- held out ({m['heldout_positive']} positive, {m['heldout_negative']} negative): precision "
            f"{m['precision']}, recall {m['recall']} at P(hq) >= {m['threshold']}, ROC AUC {m['roc_auc']}"
        )
    path.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
