"""Batched log-likelihood of token spans: what every benchmark and bits per byte reduce to.

A `Span` is a token sequence whose last `scored` tokens are predicted, each from all the tokens before it,
and summed: log P(continuation | context). `score_spans` runs them through the model in few, dense forward
passes:
- spans with the same input tokens (every choice of MMLU, BoolQ, CommonsenseQA: one context, one-token
  answers) share one row, each reading its own targets off the shared logits;
- rows are sorted by length, longest first, and cut into batches of at most `batch_tokens` padded tokens,
  so a batch holds rows of nearly equal length and padding stays a small share of the work;
- the output projection and log-softmax are computed only at the scored positions, log-softmax in float32
  (the forward pass runs in bf16 on CUDA).
Right padding cannot change a causal model's logits at the real positions, so batching gives the same
numbers as one span at a time (tested).

`encode_requests` turns (context, continuation) strings into spans exactly as lm-evaluation-harness' HF
model does: trailing whitespace of the context moves to the continuation, the continuation's tokens are
those that follow the context's tokens in the encoding of context + continuation, and a sequence longer
than the context window loses the beginning of its context. finemill also starts every sequence with the
end-of-text id, as every training document started (lm-eval does the same when the tokenizer adds it as BOS).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from finemill.tokenize.encoder import Encoder


@dataclass(frozen=True)
class Span:
    tokens: np.ndarray  # int64 ids: the whole sequence, context then scored tokens
    scored: int  # the last `scored` tokens are predicted and summed (>= 1)


@dataclass(frozen=True)
class Scores:
    logprob: np.ndarray  # float64 per span: sum of log P(token | everything before it) over its scored tokens
    greedy: np.ndarray  # bool per span: every scored token is the model's argmax


def encode_requests(
    encoder: Encoder, requests: Sequence[tuple[str, str]], prefix_id: int, block_size: int
) -> list[Span]:
    """(context, continuation) strings -> spans, tokenized as lm-eval's HF model does (see module docstring)."""
    contexts, wholes = [], []
    for context, continuation in requests:
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces:
            context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
        contexts.append(context)
        wholes.append(context + continuation)
    unique = list(dict.fromkeys(contexts))  # the choices of an item share their context: encode it once
    context_ids = dict(zip(unique, encoder.encode_batch(unique), strict=True))
    spans = []
    for context, whole_ids in zip(contexts, encoder.encode_batch(wholes), strict=True):
        ctx = context_ids[context]
        cont = whole_ids[len(ctx) :]
        if not cont:
            raise ValueError(f"empty continuation after context {context[-60:]!r}")
        tokens = np.asarray([prefix_id, *ctx, *cont], dtype=np.int64)[-(block_size + 1) :]
        spans.append(Span(tokens, min(len(cont), len(tokens) - 1)))
    return spans


def _autocast(device: torch.device):
    return torch.autocast(device.type, dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()


@torch.no_grad()
def score_spans(
    model: torch.nn.Module,
    spans: Sequence[Span],
    *,
    vocab_size: int,
    device: torch.device | str = "cpu",
    batch_tokens: int = 16384,
    progress=None,
) -> Scores:
    """Log-likelihood and greedy match of every span (see the module docstring for the batching).

    `vocab_size` is the tokenizer's: logits of the embedding table's padding rows are cut off. `progress`,
    if given, is called with the number of spans finished after each batch.
    """
    device = torch.device(device)
    # Rows: distinct input sequences (a span's tokens minus its last one).
    row_of: dict[bytes, int] = {}
    rows: list[np.ndarray] = []
    span_row = np.empty(len(spans), dtype=np.int64)
    for i, span in enumerate(spans):
        inputs = span.tokens[:-1]
        key = inputs.tobytes()
        if key not in row_of:
            row_of[key] = len(rows)
            rows.append(inputs)
        span_row[i] = row_of[key]
    spans_of_row: list[list[int]] = [[] for _ in rows]
    for i, r in enumerate(span_row):
        spans_of_row[r].append(i)

    logprob = np.zeros(len(spans), dtype=np.float64)
    greedy = np.zeros(len(spans), dtype=bool)
    order = sorted(range(len(rows)), key=lambda r: -len(rows[r]))
    start = 0
    while start < len(order):
        width = len(rows[order[start]])  # the longest row of this batch: rows come longest first
        count = max(1, min(len(order) - start, batch_tokens // max(width, 1)))
        batch = order[start : start + count]
        start += count
        _score_batch(
            model,
            [rows[r] for r in batch],
            [[spans[i] for i in spans_of_row[r]] for r in batch],
            [spans_of_row[r] for r in batch],
            width,
            vocab_size,
            device,
            logprob,
            greedy,
        )
        if progress is not None:
            progress(sum(len(spans_of_row[r]) for r in batch))
    return Scores(logprob, greedy)


def _final_hidden(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.nn.Module | None]:
    """The final hidden states and the output projection, so that only scored positions are projected.

    The projection to the vocabulary is most of a small model's work (32768 x 128 of its ~5M weights in the
    tiny config) and its (B, T, V) output most of the memory, while only a few positions per row are
    scored. finemill's GPT gives its hidden states (`hidden_states`); any other model is run whole.
    """
    if not hasattr(model, "hidden_states"):
        return model(x)[0], None
    return model.hidden_states(x), model.lm_head


def _score_batch(model, rows, row_spans, row_span_ids, width, vocab_size, device, logprob, greedy) -> None:
    x = np.zeros((len(rows), width), dtype=np.int64)  # right padding: invisible to the real positions
    for b, row in enumerate(rows):
        x[b, : len(row)] = row
    # One (row, position, target) triple per scored token of every span in the batch.
    r_idx, p_idx, target, owner = [], [], [], []
    for b, (row, spans, ids) in enumerate(zip(rows, row_spans, row_span_ids, strict=True)):
        for span, i in zip(spans, ids, strict=True):
            k = span.scored
            r_idx.append(np.full(k, b))
            p_idx.append(np.arange(len(row) - k, len(row)))  # logits at p predict token p + 1
            target.append(span.tokens[-k:])
            owner.append(np.full(k, i))
    to = lambda parts: torch.from_numpy(np.concatenate(parts)).to(device)  # noqa: E731
    r_t, p_t, tgt_t = to(r_idx), to(p_idx), to(target)
    with _autocast(device):
        hidden, head = _final_hidden(model, torch.from_numpy(x).to(device))  # (B, T, C), or logits and None
        picked = hidden[r_t, p_t] if head is None else head(hidden[r_t, p_t])  # (N, V_padded)
    picked = picked[:, :vocab_size].float()  # only the scored positions, without the padding rows
    token_lp = F.log_softmax(picked, dim=-1).gather(1, tgt_t[:, None])[:, 0]  # (N,)
    hit = picked.argmax(dim=-1) == tgt_t
    owner_np = np.concatenate(owner)
    np.add.at(logprob, owner_np, token_lp.double().cpu().numpy())
    ids, inverse = np.unique(owner_np, return_inverse=True)
    misses = np.bincount(inverse, weights=(~hit).cpu().numpy(), minlength=len(ids))
    greedy[ids] = misses == 0
