"""Text generation from a trained model: KV-cached decoding, and prompts in, completions out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from finemill.model.gpt import GPT, KVCache

if TYPE_CHECKING:
    from tokenizers import Tokenizer


@torch.no_grad()
def generate(
    model: GPT,
    idx: torch.Tensor,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    stop_id: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend idx (B, T0) by up to max_new_tokens sampled ids -> (B, T0 + n).

    Each new token costs one forward pass over one position, thanks to the KV cache. When the cache fills
    the context, decoding restarts from the last half context (one prefill every block_size / 2 tokens)
    instead of recomputing the full window at every token. Stops early once every row produced `stop_id`.
    Temperature 0 means greedy.
    """
    cfg = model.config
    block = cfg.block_size
    out = idx
    cache = KVCache(cfg.n_layer, block)
    logits, _ = model(out[:, -block:], cache=cache, last_only=True)  # (B, 1, V)
    finished = torch.zeros(idx.shape[0], dtype=torch.bool, device=idx.device)
    for i in range(max_new_tokens):
        next_id = _pick(logits[:, -1, : cfg.vocab_size], temperature, top_k, generator)  # (B, 1)
        out = torch.cat([out, next_id], dim=1)
        if stop_id is not None:
            finished |= next_id[:, 0] == stop_id
            if bool(finished.all()):
                break
        if i == max_new_tokens - 1:
            break
        if cache.pos >= block:  # context full: restart from the most recent half of it
            cache = KVCache(cfg.n_layer, block)
            logits, _ = model(out[:, -max(1, block // 2) :], cache=cache, last_only=True)
        else:
            logits, _ = model(next_id, cache=cache, last_only=True)
    return out


def _pick(
    logits: torch.Tensor, temperature: float, top_k: int | None, generator: torch.Generator | None
) -> torch.Tensor:
    """logits (B, V) -> ids (B, 1). The padded vocab rows were already cut off by the caller."""
    logits = logits.float()
    if temperature <= 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits / temperature
    if top_k is not None and 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator)


def prompt_tokenizer(path: str | Path) -> Tokenizer:
    """The HF tokenizer of tokenizer.json for prompts and completions. A literal "<|endoftext|>" in a prompt
    is text, as in the shards and the exported tokenizer: only the end-of-text id `complete` puts in front
    marks a document boundary."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.encode_special_tokens = True
    return tokenizer


def complete(
    model: GPT,
    tokenizer: Tokenizer,
    prompt: str,
    max_new_tokens: int,
    *,
    eot_id: int,
    temperature: float = 0.8,
    top_k: int | None = 50,
    num_samples: int = 1,
    seed: int | None = None,
    device: str | torch.device = "cpu",
) -> list[str]:
    """Prompt -> completions (the prompt excluded), cut at the first end-of-text.

    The prompt is preceded by end-of-text, as every training document is, so it reads as a document start.
    """
    ids = [eot_id] + tokenizer.encode(prompt).ids
    idx = torch.tensor([ids] * num_samples, dtype=torch.long, device=device)  # (N, T0)
    generator = None
    if seed is not None:
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
    out = generate(
        model, idx, max_new_tokens, temperature=temperature, top_k=top_k, stop_id=eot_id, generator=generator
    )
    texts = []
    for row in out[:, len(ids) :].tolist():
        if eot_id in row:
            row = row[: row.index(eot_id)]
        texts.append(tokenizer.decode(row))
    return texts
