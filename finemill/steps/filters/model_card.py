"""The model card beside a quality classifier: what it was trained on and how, read by the recipe step (its
text normalisation), by `finemill run` (the sources go into stats.json) and by `finemill eval` (a warning
when a benchmark's own text trained a classifier that filtered the data).

For a fastText file `M.bin` the card is `M.card.json` (and `M.card.md` for people); for a transformers
folder it is `finemill_card.json` inside the folder. A model without a card is fine: it was trained
elsewhere, its normalisation is taken as "none" and its sources are unknown.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CARD_IN_FOLDER = "finemill_card.json"


def card_path(model: str | Path) -> Path:
    """Where the card of `model` is (whether or not it exists)."""
    path = Path(model)
    if path.is_dir():
        return path / CARD_IN_FOLDER
    return path.with_name(path.stem + ".card.json")


def read_card(model: str | Path) -> dict[str, Any] | None:
    """The card of `model`, or None when it has none (or it is not JSON)."""
    try:
        card = json.loads(card_path(model).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return card if isinstance(card, dict) else None


def card_summary(model: str | Path) -> dict[str, Any]:
    """What a run records of its classifier: the model path, its sources and the benchmark tasks whose text
    is among them (empty when the card names none or there is no card)."""
    card = read_card(model) or {}
    return {
        "model": str(model),
        "card": str(card_path(model)) if card else None,
        "sources": card.get("sources", {}),
        "benchmark_tasks": card.get("benchmark_tasks", []),
    }
