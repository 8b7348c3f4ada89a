"""The benchmark suite on a model: items -> spans -> one batched scoring pass -> per-item records -> scores.

Beside them, `gold_bpb`: the bits per byte of the correct continuation (DataDecide's proxy, which ranks data
recipes at small scale where accuracy cannot), per item and as the task's mean.

Per item, as lm-evaluation-harness scores multiple choice: `acc` picks the choice with the highest summed
log-likelihood, `acc_norm` the highest log-likelihood divided by the choice's length in characters (lm-eval's
acc_norm; see finemill.eval.tasks for which string that is). Ties go to the first choice (numpy argmax, as
in lm-eval). LAMBADA's acc is the greedy match of the last word. A task's headline score is acc_norm or
acc (`Task.metric`), its chance level the mean of 1 / number of choices over its items (0 for LAMBADA),
and the suite's aggregate the mean over tasks of the centered score (score - chance) / (1 - chance), as
nanochat's CORE metric aggregates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from finemill.eval.scoring import Span, encode_requests, score_spans
from finemill.eval.tasks import Item, Task
from finemill.tokenize.encoder import Encoder


def item_record(
    index: int, item: Item, logprobs: np.ndarray, greedy: np.ndarray, task: Task
) -> dict[str, Any]:
    """What one item's scoring decided, in plain JSON types."""
    lls = [float(x) for x in logprobs]
    gold_bpb = gold_bits_per_byte(
        lls[0 if task.greedy else item.gold], item.requests[0 if task.greedy else item.gold][1]
    )
    if task.greedy:
        correct = bool(greedy[0])
        return {
            "index": index,
            "gold": 0,
            "logprobs": lls,
            "greedy": correct,
            "pred": 0,
            "pred_norm": 0,
            "acc": int(correct),
            "acc_norm": int(correct),
            "chance": 0.0,
            "gold_bpb": gold_bpb,
        }
    pred = int(np.argmax(logprobs))
    pred_norm = int(np.argmax(logprobs / np.asarray(item.norm_chars, dtype=np.float64)))
    return {
        "index": index,
        "gold": item.gold,
        "logprobs": lls,
        "norm_chars": list(item.norm_chars),
        "pred": pred,
        "pred_norm": pred_norm,
        "acc": int(pred == item.gold),
        "acc_norm": int(pred_norm == item.gold),
        "chance": 1.0 / len(item.requests),
        "gold_bpb": gold_bpb,
    }


def gold_bits_per_byte(logprob: float, continuation: str) -> float:
    """Bits per UTF-8 byte of the gold continuation (its delimiter included): -log2 P / bytes. DataDecide's
    likelihood proxy, which ranks data recipes at model sizes where accuracy sits at chance."""
    return -logprob / math.log(2) / max(1, len(continuation.encode("utf-8")))


def stderr(values: Sequence[float]) -> float:
    """Standard error of a mean: sample standard deviation / sqrt(n) (lm-eval's mean stderr)."""
    n = len(values)
    return float(np.std(values, ddof=1) / math.sqrt(n)) if n > 1 else float("nan")


def summarize(task: Task, records: list[dict[str, Any]]) -> dict[str, Any]:
    """n, acc, acc_norm, their standard errors, chance, the headline metric and its centered value."""
    acc = [r["acc"] for r in records]
    acc_norm = [r["acc_norm"] for r in records]
    chance = float(np.mean([r["chance"] for r in records])) if records else float("nan")
    score = float(np.mean(acc_norm if task.metric == "acc_norm" else acc)) if records else float("nan")
    return {
        "n": len(records),
        "acc": float(np.mean(acc)) if records else float("nan"),
        "acc_stderr": stderr(acc),
        "acc_norm": float(np.mean(acc_norm)) if records else float("nan"),
        "acc_norm_stderr": stderr(acc_norm),
        "chance": chance,
        "gold_bpb": float(np.mean([r["gold_bpb"] for r in records])) if records else float("nan"),
        "metric": task.metric,
        "score": score,
        "stderr": stderr(acc_norm if task.metric == "acc_norm" else acc),
        "centered": (score - chance) / (1.0 - chance),
        "split": task.split,
        "source": task.source,
        "licence": task.licence,
    }


def aggregate(summaries: dict[str, dict[str, Any]]) -> float:
    """Mean centered score over tasks (nanochat's CORE aggregation)."""
    values = [s["centered"] for s in summaries.values() if s["n"]]
    return float(np.mean(values)) if values else float("nan")


@dataclass(frozen=True)
class EncodedTasks:
    """Tasks turned into spans once, to be scored again and again (during training, at every evaluation)."""

    loaded: list[tuple[Task, list[Item]]]
    spans: list[Span]
    owners: list[tuple[int, int, int]]  # owners[k] = (task index, item index, choice index) of spans[k]


def encode_tasks(encoder: Encoder, tasks: Sequence[Task], limit: int | None, block_size: int) -> EncodedTasks:
    """The first `limit` items of each task, encoded into spans for a model of context `block_size`."""
    loaded = [(task, task.load(limit)) for task in tasks]
    spans, owners = [], []
    for t, (_, items) in enumerate(loaded):
        requests = [req for item in items for req in item.requests]
        spans.extend(encode_requests(encoder, requests, encoder.eot_id, block_size))
        owners.extend((t, i, c) for i, item in enumerate(items) for c in range(len(item.requests)))
    return EncodedTasks(loaded, spans, owners)


def evaluate_tasks(
    model: torch.nn.Module,
    encoder: Encoder,
    tasks: Sequence[Task],
    limit: int | None = None,
    device: torch.device | str = "cpu",
    batch_tokens: int = 16384,
    progress: bool = False,
) -> dict[str, Any]:
    """Score `tasks` (the first `limit` items of each) -> {"tasks": {name: summary}, "items": {name: records},
    "aggregate": mean centered score}. All tasks' spans go through one batched scoring pass."""
    encoded = encode_tasks(encoder, tasks, limit, model.config.block_size)
    return score_tasks(model, encoded, device, batch_tokens, progress)


def score_tasks(
    model: torch.nn.Module,
    encoded: EncodedTasks,
    device: torch.device | str = "cpu",
    batch_tokens: int = 16384,
    progress: bool = False,
) -> dict[str, Any]:
    """evaluate_tasks' result for tasks encoded beforehand by `encode_tasks`."""
    from tqdm import tqdm

    loaded, spans, owners = encoded.loaded, encoded.spans, encoded.owners
    was_training = model.training
    model.eval()
    with tqdm(total=len(spans), desc="benchmarks", unit="seq", disable=not progress, leave=False) as bar:
        scores = score_spans(
            model,
            spans,
            vocab_size=model.config.vocab_size,
            device=device,
            batch_tokens=batch_tokens,
            progress=bar.update,
        )
    model.train(was_training)

    lls = [[np.zeros(len(item.requests)) for item in items] for _, items in loaded]
    hits = [[np.zeros(len(item.requests), dtype=bool) for item in items] for _, items in loaded]
    for k, (t, i, c) in enumerate(owners):
        lls[t][i][c] = scores.logprob[k]
        hits[t][i][c] = scores.greedy[k]
    result: dict[str, Any] = {"tasks": {}, "items": {}}
    for t, (task, items) in enumerate(loaded):
        records = [item_record(i, item, lls[t][i], hits[t][i], task) for i, item in enumerate(items)]
        result["items"][task.name] = records
        result["tasks"][task.name] = summarize(task, records)
    result["aggregate"] = aggregate(result["tasks"])
    return result
