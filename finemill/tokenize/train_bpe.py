"""Train a byte-level BPE tokenizer with the HF `tokenizers` trainer.

Layout of the result: ids 0..255 are the 256 bytes (in the trainer's order), then one id per merge in
the order the merges were learned, then the end-of-text token as the last id. Adding the special token
*after* training is what puts it last; the trainer itself would put specials first.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from finemill.errors import FinemillError
from finemill.tokenize.patterns import EOT_TOKEN, GPT4_PATTERN

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MIN_VOCAB_SIZE = 257  # 256 bytes + the end-of-text token


def empty_tokenizer(pattern: str = GPT4_PATTERN) -> Tokenizer:
    """An untrained byte-level BPE with GPT-4-style pre-tokenization."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    tok = Tokenizer(models.BPE())
    # The regex splits text into words exactly as tiktoken will; ByteLevel then only maps bytes to
    # printable characters (use_regex=False), so no second, GPT-2 split is applied on top.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    return tok


def train_tokenizer(
    texts: Iterable[str],
    vocab_size: int,
    *,
    eot_token: str = EOT_TOKEN,
    pattern: str = GPT4_PATTERN,
    show_progress: bool = False,
) -> Tokenizer:
    """Train on `texts` and return a `tokenizers.Tokenizer` of at most `vocab_size` ids (specials included).

    On a small corpus the trainer may run out of pairs before reaching `vocab_size`; the end-of-text token
    is then the last id of the smaller vocabulary, and the manifest records the real size.
    """
    from tokenizers import AddedToken, pre_tokenizers, trainers

    if vocab_size < MIN_VOCAB_SIZE:
        raise FinemillError(f"--vocab-size must be at least {MIN_VOCAB_SIZE} (256 bytes + end-of-text)")
    tok = empty_tokenizer(pattern)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - 1,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes, seen in the text or not
        special_tokens=[],
        show_progress=show_progress,
    )
    seen = 0

    def counted(items: Iterable[str]):
        nonlocal seen
        for text in items:
            seen += len(text)
            yield text

    tok.train_from_iterator(counted(texts), trainer=trainer)
    if not seen:
        raise FinemillError("tokenizer training saw no text (are all documents empty?)")
    tok.add_special_tokens([AddedToken(eot_token, special=True, normalized=False)])
    return tok


def save_tokenizer(tok: Tokenizer, path: Path) -> Path:
    """Write tokenizer.json atomically (temp name, then rename) so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(tok.to_str(pretty=True), encoding="utf-8")
    os.replace(tmp, path)
    return path
