"""Scoring texts with a sequence classifier in forward passes bounded by padded tokens: the texts are
tokenized once (truncated to the window), ordered by length so each pass pads little, and cut into passes of
at most `batch_tokens` tokens (longest length x count). Padding is masked, so a text's score does not depend
on its batch (up to float rounding; tested against one text at a time)."""

from __future__ import annotations

from typing import Any


def token_batches(lengths: list[int], batch_tokens: int) -> list[list[int]]:
    """Indices of the texts, by decreasing length, cut into batches whose longest length x size stays within
    `batch_tokens` (a text longer than the budget goes alone)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if batches and lengths[batches[-1][0]] * (len(batches[-1]) + 1) <= batch_tokens:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def score_batched(
    tokenizer: Any,
    model: Any,
    device: str,
    texts: list[str],
    window: int,
    batch_tokens: int,
    regression: bool,
    keep_indices: list[int],
) -> tuple[list[float], int]:
    """Each text's score, and how many texts were truncated to the window."""
    import torch

    encoded = tokenizer(texts, truncation=False, add_special_tokens=True)["input_ids"]
    truncated = sum(len(ids) > window for ids in encoded)
    if truncated:
        encoded = tokenizer(texts, truncation=True, max_length=window)["input_ids"]
    scores = [0.0] * len(texts)
    with torch.inference_mode():
        for batch in token_batches([len(ids) for ids in encoded], batch_tokens):
            padded = tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt")
            logits = model(**{k: v.to(device) for k, v in padded.items()}).logits.float()
            if regression:
                values = logits[:, 0]
            else:
                values = torch.softmax(logits, dim=-1)[:, keep_indices].sum(dim=-1)
            for i, value in zip(batch, values.tolist(), strict=True):
                scores[i] = value
    return scores, truncated
