"""The encoder used for shards: tiktoken built from the tokenizer's merges, or HF `tokenizers` as fallback.

Why tiktoken gives the same ids as HF BPE. HF applies the merge with the best *priority* among adjacent
pairs; tiktoken merges the adjacent pair whose *concatenation* has the lowest rank, and returns a whole
pre-tokenized piece at once when it is itself a token. Taking ranks = HF ids, the two agree when
  1. every token is bytes (ByteLevel alphabet) and all 256 single bytes are in the vocabulary,
  2. each multi-byte token is made by exactly one merge and ids grow with merge order, so "lowest rank of
     the result" and "highest merge priority" order pairs the same way, and
  3. every token is *reachable*: HF's merges turn its bytes into that one token. Then whenever two
     adjacent parts x, y have x+y in the vocabulary in some HF state, (x, y) is the merge that makes x+y
     (BPE on a region whose final parts never cross its edges runs as on the region alone), so tiktoken
     never merges a pair HF would not, and its whole-piece shortcut gives what HF's merges give.
A tokenizer trained here meets all three; `tiktoken_from_hf` checks them on any tokenizer.json (plus the
same pre-tokenization regex, no normalizer, no byte fallback) and `Encoder.verify` checks the result
against HF on real text before a run uses it. Anything else uses HF `encode_batch`, and says why.

Text conventions, the same on both paths: a literal "<|endoftext|>" inside a document is encoded as text
(only the shard loader inserts the real end-of-text id), and lone UTF-16 surrogates, which cannot be
UTF-8, are replaced by U+FFFD first (what tiktoken does; HF would refuse the string).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from finemill.errors import FinemillError
from finemill.tokenize.patterns import EOT_TOKEN, GPT2_PATTERN, unicode_to_bytes

if TYPE_CHECKING:
    import tiktoken
    from tokenizers import Tokenizer

# tiktoken's regex engine (fancy-regex) gives up with a panic on a run of ~1M horizontal spaces
# (`\s+(?!\S)` backtracks once per character). Documents holding such a run go to HF instead, which gives
# the same ids by construction; runs below this length are far from the limit.
_LONG_WS_CHARS = 100_000
_LONG_WS = re.compile(r"\s{" + str(_LONG_WS_CHARS) + ",}")

# Short texts that exercise the corners of the regex and of BPE; checked on every tokenizer we load.
EDGE_TEXTS = [
    "",
    " ",
    "Hello world",
    "  leading and trailing  ",
    "line\n\n\nbreaks\r\n\ttabs \t\n ",
    "don't I'LL we've they'RE",
    "1234567890 3.14159 1,000,000",
    "naïve café — “quotes” …",
    "日本語のテキストと中文文本",
    "emoji 😀👍🏽👨‍👩‍👧 flags 🇫🇷",
    "<|endoftext|> inside text",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" * 8,
    "=-" * 200 + "\n" * 50,
]


class NotRepresentable(Exception):
    """The tokenizer cannot be expressed as a tiktoken Encoding with identical output."""


def fix_surrogates(text: str) -> str:
    """Replace lone surrogates by U+FFFD (and join valid surrogate pairs), as tiktoken does."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _pattern_of(pre: dict | None) -> str:
    """The split regex of a byte-level pre-tokenizer that tiktoken can reproduce."""

    def bytelevel(p: dict, use_regex: bool) -> bool:
        return (
            p.get("type") == "ByteLevel"
            and not p.get("add_prefix_space", False)
            and bool(p.get("use_regex", True)) == use_regex
        )

    if pre is None:
        raise NotRepresentable("it has no pre-tokenizer, so it is not byte-level BPE")
    if bytelevel(pre, use_regex=True):
        return GPT2_PATTERN
    if pre.get("type") == "Sequence":
        parts = pre.get("pretokenizers", [])
        if (
            len(parts) == 2
            and parts[0].get("type") == "Split"
            and "Regex" in parts[0].get("pattern", {})
            and parts[0].get("behavior") == "Isolated"
            and not parts[0].get("invert", False)
            and bytelevel(parts[1], use_regex=False)
        ):
            return parts[0]["pattern"]["Regex"]
    raise NotRepresentable(f"its pre-tokenizer is not Split(regex)+ByteLevel: {json.dumps(pre)[:200]}")


def tiktoken_from_hf(hf: Tokenizer, name: str = "finemill") -> tiktoken.Encoding:
    """A `tiktoken.Encoding` with the same ids as the HF tokenizer `hf`, or NotRepresentable."""
    import tiktoken
    from tokenizers import models

    spec = json.loads(hf.to_str())
    model = spec["model"]
    if model.get("type") != "BPE":
        raise NotRepresentable(f"its model is {model.get('type')}, not BPE")
    for key in ("dropout", "byte_fallback", "continuing_subword_prefix", "end_of_word_suffix"):
        if model.get(key):
            raise NotRepresentable(f"its BPE model sets {key}")
    if spec.get("normalizer"):
        raise NotRepresentable("it has a normalizer")
    pattern = _pattern_of(spec.get("pre_tokenizer"))

    # Added tokens are cut out of the text by HF before BPE; tiktoken can do that only for specials, and
    # (encode_ordinary) it does not, as we ask of HF with encode_special_tokens. A trainer given special
    # tokens also puts them in the BPE vocabulary, without a merge: they are taken out of the ranks.
    specials: dict[str, int] = {}
    for added in spec.get("added_tokens", []):
        if not added.get("special"):
            raise NotRepresentable(f"it has a non-special added token {added['content']!r}")
        specials[added["content"]] = added["id"]
    vocab: dict[str, int] = {t: i for t, i in model["vocab"].items() if specials.get(t) != i}
    u2b = unicode_to_bytes()
    ranks: dict[bytes, int] = {}
    for token, i in vocab.items():
        try:
            ranks[bytes(u2b[c] for c in token)] = i
        except KeyError:
            raise NotRepresentable(f"token {token!r} is not made of byte-level characters") from None
    if sum(1 for b in ranks if len(b) == 1) != 256:
        raise NotRepresentable("its vocabulary lacks some of the 256 single bytes")

    # Condition 2: one merge per multi-byte token, ids increasing with merge order.
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    previous, produced = -1, set()
    for pair in merges:
        if len(pair) != 2 or pair[0] not in vocab or pair[1] not in vocab or pair[0] + pair[1] not in vocab:
            raise NotRepresentable(f"merge {pair!r} refers to tokens outside the vocabulary")
        made = vocab[pair[0] + pair[1]]
        if made <= previous:
            raise NotRepresentable("its merge order is not its id order")
        previous = made
        produced.add(made)
    if produced != {i for b, i in ranks.items() if len(b) > 1}:
        raise NotRepresentable("some multi-byte tokens are not made by exactly one merge")

    # Condition 3: every token is reachable through the merges alone (a plain BPE model, so that a
    # tokenizer with ignore_merges=True is judged on its merges too).
    plain = models.BPE(vocab=vocab, merges=merges)
    for token, i in vocab.items():
        if len(token) > 1 and [t.id for t in plain.tokenize(token)] != [i]:
            raise NotRepresentable(f"token {token!r} cannot be reached by its merges")

    if set(specials.values()) & set(ranks.values()):
        raise NotRepresentable("a special token shares its id with a BPE token")
    return tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=ranks, special_tokens=specials)


def _is_panic(e: BaseException) -> bool:
    return type(e).__name__ == "PanicException"  # pyo3's, raised by a Rust panic; not importable


class Encoder:
    """Text -> ids with the fastest path that gives HF's exact ids; also decodes for inspection."""

    def __init__(
        self, hf: Tokenizer, tt: tiktoken.Encoding | None = None, reason: str = "", eot_token: str = EOT_TOKEN
    ):
        self.hf = hf
        self.hf.encode_special_tokens = True  # a literal "<|endoftext|>" in a document is text
        self._tt = tt
        self._core = getattr(tt, "_core_bpe", None)
        self._buffer = getattr(self._core, "encode_to_tiktoken_buffer", None)
        self.reason = reason
        self.eot_token = eot_token
        eot_id = hf.token_to_id(eot_token)
        if eot_id is None:
            raise FinemillError(f"the tokenizer has no {eot_token!r} token (choose one with --eot-token)")
        self.eot_id: int = eot_id
        vocab = hf.get_vocab(with_added_tokens=True)
        self.vocab_size: int = max(vocab.values()) + 1
        specials = json.loads(hf.to_str()).get("added_tokens", [])
        self.special_tokens: dict[str, int] = {a["content"]: a["id"] for a in specials if a.get("special")}
        self._b2u_inverse = unicode_to_bytes()

    @classmethod
    def from_file(cls, path: Path | str, eot_token: str = EOT_TOKEN, backend: str = "auto") -> Encoder:
        """Load tokenizer.json; backend "auto" tries tiktoken, "hf" forces HF tokenizers."""
        from tokenizers import Tokenizer

        path = Path(path)
        if not path.is_file():
            raise FinemillError(f"tokenizer file not found: {path}")
        try:
            hf = Tokenizer.from_file(str(path))
        except Exception as e:  # tokenizers raises plain Exception for malformed files
            raise FinemillError(
                f"{path} is not a valid tokenizer.json: {str(e).splitlines()[0][:200]}"
            ) from e
        tt, reason = None, "HF backend requested"
        if backend != "hf":
            try:
                tt = tiktoken_from_hf(hf)
                reason = ""
            except NotRepresentable as e:
                reason = f"tiktoken cannot represent this tokenizer: {e}"
        return cls(hf, tt, reason, eot_token)

    @property
    def backend(self) -> str:
        return "tiktoken" if self._tt is not None else "hf"

    @property
    def dtype(self) -> str:
        """The smallest unsigned dtype that holds every id."""
        return "uint16" if self.vocab_size <= 2**16 else "uint32"

    # -- encoding -------------------------------------------------------------------------------------

    def _hf_ids(self, texts: Sequence[str]) -> list[list[int]]:
        encs = self.hf.encode_batch([fix_surrogates(t) for t in texts], add_special_tokens=False)
        return [e.ids for e in encs]

    def _tt_array(self, text: str) -> np.ndarray:
        if len(text) >= _LONG_WS_CHARS and _LONG_WS.search(text):
            return np.asarray(self._hf_ids([text])[0], dtype=np.uint32)
        try:
            if self._buffer is None:  # tiktoken < 0.8 has no buffer variant
                return np.asarray(self._core.encode_ordinary(text), dtype=np.uint32)
            # The buffer variant of encode with no allowed specials = encode_ordinary, minus a list copy.
            return np.frombuffer(self._buffer(text, set()), dtype=np.uint32)
        except UnicodeEncodeError:
            return self._tt_array(fix_surrogates(text))
        except BaseException as e:  # a Rust panic (regex limits) must not kill a long run
            if not _is_panic(e):
                raise
            return np.asarray(self._hf_ids([text])[0], dtype=np.uint32)

    def encode(self, text: str) -> list[int]:
        return self.encode_batch([text])[0]

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if self._tt is None:
            return self._hf_ids(texts)
        return [self._tt_array(t).tolist() for t in texts]

    def encode_flat(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """All ids of `texts` concatenated (uint32) and the token count of each text (int64)."""
        if self._tt is None:
            arrays = [np.asarray(ids, dtype=np.uint32) for ids in self._hf_ids(texts)]
        else:
            arrays = [self._tt_array(t) for t in texts]
        lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
        values = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.uint32)
        return values, lengths

    # -- decoding -------------------------------------------------------------------------------------

    def token_bytes(self, token_id: int) -> bytes:
        """The raw bytes of one token (special tokens: their UTF-8 text)."""
        if self._tt is not None:
            return self._tt.decode_single_token_bytes(token_id)
        token = self.hf.id_to_token(token_id)
        if token is None:
            raise FinemillError(f"id {token_id} is not in the tokenizer")
        if token_id in self.special_tokens.values():
            return token.encode()
        try:
            return bytes(self._b2u_inverse[c] for c in token)
        except KeyError:  # not a byte-level token: show its text
            return token.encode()

    def decode(self, ids: Sequence[int]) -> str:
        if self._tt is not None:
            return self._tt.decode([int(i) for i in ids])
        return self.hf.decode([int(i) for i in ids], skip_special_tokens=False)

    # -- checking -------------------------------------------------------------------------------------

    def verify(self, texts: Sequence[str] = ()) -> bool:
        """Compare the tiktoken path with HF on edge cases and `texts`; fall back to HF on any difference."""
        if self._tt is None:
            return True
        sample = list(EDGE_TEXTS) + list(texts)
        if self.encode_batch(sample) == self._hf_ids(sample):
            return True
        self._tt, self._core, self._buffer = None, None, None
        self.reason = "tiktoken and HF gave different ids on sample text"
        return False
