"""Constants shared by training and encoding: the split regex, the end-of-text token, the byte table."""

from __future__ import annotations

from functools import lru_cache

# GPT-4's (cl100k) pre-tokenization pattern, in the form both Oniguruma (HF tokenizers) and fancy-regex
# (tiktoken) read the same way. tiktoken ships a faster variant using `\s++$`, but `$` means end of *line*
# in Oniguruma, so that variant would split differently in HF; one string for both engines is what makes
# the two encoders agree by construction.
GPT4_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*"""
    r"""|\s*[\r\n]|\s+(?!\S)|\s+"""
)

# GPT-4's pattern with combining marks (\p{M}) counted as letters: Thai vowels and tone marks, Indic vowel signs
# and viramas are marks, and GPT-4's `\p{L}+` cuts a Thai or Devanagari word at each of them into pieces BPE
# can never merge again. Scripts written without spaces (Chinese, Japanese, Thai) keep GPT-4's treatment: a
# run of letters up to punctuation or a space is one piece, inside which BPE learns the words. finemill
# trains with it on a run written per language (the multilingual recipe's documents/<language>/).
MULTILINGUAL_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{M}\p{N}]?+[\p{L}\p{M}]+|\p{N}{1,3}| ?[^\s\p{L}\p{M}\p{N}]++[\r\n]*"""
    r"""|\s*[\r\n]|\s+(?!\S)|\s+"""
)

# What HF's ByteLevel pre-tokenizer applies when `use_regex=True` (GPT-2 tokenizers).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

EOT_TOKEN = "<|endoftext|>"


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from the 256 byte values to printable characters (HF ByteLevel uses it)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs, strict=True)}


@lru_cache(maxsize=1)
def unicode_to_bytes() -> dict[str, int]:
    return {c: b for b, c in bytes_to_unicode().items()}
