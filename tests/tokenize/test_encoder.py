"""The encoder gives HF `tokenizers`' exact ids, on real web text and on edge cases, and round-trips."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from finemill.errors import FinemillError
from finemill.tokenize.encoder import EDGE_TEXTS, Encoder, fix_surrogates, tiktoken_from_hf
from finemill.tokenize.patterns import EOT_TOKEN
from finemill.tokenize.train_bpe import empty_tokenizer, save_tokenizer, train_tokenizer
from tests.conftest import SHARED_DATA

DATA = SHARED_DATA
CRAWL = DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"

EDGE_CASES = [
    *EDGE_TEXTS,
    "🙂" * 3000,  # emoji: 4-byte characters, none of them a single token
    "東京都の人口は約1400万人です。中华人民共和国。한국어 텍스트。",
    "x" + " " * 1_010_000 + "y",  # beyond what tiktoken's regex engine can backtrack over
    "a" * 300_000,  # one 300k-byte pre-token
    "ab" * 100_000,
    "-" * 100_000 + "\n" * 100_000,
    "1234567890" * 10_000,
    "\t \n \r\n\u00a0\u3000\u2028 mixed whitespace \u200b zero width",
    "Ünïcödé ĉàŕàćťéŕś and combining e\u0301\u0301",
    "<|endoftext|><|endoftext|>",
]


def real_texts() -> list[str]:
    if not CRAWL.is_file():
        pytest.skip(f"real data not available at {CRAWL}")
    with gzip.open(CRAWL, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def generated_texts(n: int = 300) -> list[str]:
    """Web-like text without the shared data: common words, made-up words, numbers, URLs, accents, CJK, emoji."""
    rng = random.Random(0)
    common = (
        "the of and to in a is that for it on with as was by at be this from have or are an not which "
        "Ångström naïve Zürich 東京 数据 😀 don't we'll IT'S 2019 3.14 $1,299.99 https://example.com/a?b=1 #tag @user"
    ).split()
    syllables = (
        "ka ri to on ex ple mar ven tis lo qua der sun fi ga ment ion al pre con tra bel oro ny".split()
    )

    def word() -> str:
        if rng.random() < 0.5:
            return rng.choice(common)
        return "".join(rng.choice(syllables) for _ in range(rng.randint(1, 4)))

    docs = []
    for _ in range(n):
        paras = []
        for _ in range(rng.randint(1, 5)):
            sentence = " ".join(word() for _ in range(rng.randint(3, 40)))
            paras.append(sentence[0].upper() + sentence[1:] + rng.choice([".", "!", "?", "..."]))
        docs.append("\n\n".join(paras))
    return docs


def hf_reference(path: Path):
    """HF tokenizers exactly as a user would load it, with special-token text treated as text."""
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(path))
    hf.encode_special_tokens = True
    return hf


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    try:
        texts = real_texts()
    except pytest.skip.Exception:
        texts = generated_texts()
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    # Half the documents: the identity test then covers text the tokenizer has never seen too.
    save_tokenizer(train_tokenizer(texts[::2], 4096), path)
    return path


def test_trained_layout(trained: Path):
    enc = Encoder.from_file(trained)
    assert enc.backend == "tiktoken", enc.reason
    assert enc.vocab_size == 4096
    assert enc.eot_id == 4095 and enc.special_tokens == {EOT_TOKEN: 4095}
    assert enc.dtype == "uint16"
    assert sorted(len(enc.token_bytes(i)) for i in range(256)) == [1] * 256  # the 256 bytes come first


def test_identical_ids_on_all_real_documents(trained: Path):
    texts = real_texts()
    assert len(texts) == 697
    enc, hf = Encoder.from_file(trained), hf_reference(trained)
    expected = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
    values, lengths = enc.encode_flat(texts)  # the path the shard writer uses
    assert lengths.tolist() == [len(ids) for ids in expected]
    assert values.tolist() == [i for ids in expected for i in ids]


def test_identical_ids_on_generated_text(trained: Path):
    texts = generated_texts(200)
    enc, hf = Encoder.from_file(trained), hf_reference(trained)
    assert enc.encode_batch(texts) == [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]


@pytest.mark.parametrize("index", range(len(EDGE_CASES)))
def test_identical_ids_on_edge_cases(trained: Path, index: int):
    text = EDGE_CASES[index]
    enc, hf = Encoder.from_file(trained), hf_reference(trained)
    ids = enc.encode(text)
    assert ids == hf.encode(text, add_special_tokens=False).ids
    assert enc.decode(ids) == text
    assert enc.eot_id not in ids  # literal "<|endoftext|>" text never becomes the separator


def test_invalid_surrogates(trained: Path):
    enc, hf = Encoder.from_file(trained), hf_reference(trained)
    text = "lone \ud800 high, lone \udfff low, pair \ud83d\ude00 end"
    ids = enc.encode(text)
    assert ids == hf.encode(fix_surrogates(text), add_special_tokens=False).ids
    assert enc.decode(ids) == "lone \ufffd high, lone \ufffd low, pair 😀 end"
    values, lengths = enc.encode_flat([text, "ok"])
    assert values.tolist() == ids + enc.encode("ok")


def test_round_trip_real_documents(trained: Path):
    enc = Encoder.from_file(trained)
    texts = real_texts()
    for text, ids in zip(texts, enc.encode_batch(texts), strict=True):
        assert enc.decode(ids) == text
        assert b"".join(enc.token_bytes(i) for i in ids) == text.encode()


def test_gpt2_style_tokenizer_uses_tiktoken(tmp_path: Path):
    """A `--tokenizer` with GPT-2's pre-tokenizer (ByteLevel with its own regex) is still exact."""
    from tokenizers import pre_tokenizers, trainers

    tok = empty_tokenizer()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=700,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[EOT_TOKEN],
        show_progress=False,
    )
    texts = generated_texts(150)
    tok.train_from_iterator(texts, trainer)  # special token first: eot_id 0, not last
    path = save_tokenizer(tok, tmp_path / "gpt2ish.json")
    enc, hf = Encoder.from_file(path), hf_reference(path)
    assert enc.backend == "tiktoken", enc.reason
    assert enc.eot_id == 0
    sample = texts + EDGE_TEXTS
    assert enc.encode_batch(sample) == [e.ids for e in hf.encode_batch(sample, add_special_tokens=False)]


def test_unrepresentable_tokenizer_falls_back_to_hf(tmp_path: Path, trained: Path):
    from tokenizers import Tokenizer, normalizers

    tok = Tokenizer.from_file(str(trained))
    tok.normalizer = normalizers.Lowercase()  # tiktoken has no normalizers
    path = save_tokenizer(tok, tmp_path / "lower.json")
    enc = Encoder.from_file(path)
    assert enc.backend == "hf" and "normalizer" in enc.reason
    texts = generated_texts(50) + ["\ud800 surrogate"]
    hf = hf_reference(path)
    assert enc.encode_batch(texts) == [
        e.ids for e in hf.encode_batch([fix_surrogates(t) for t in texts], add_special_tokens=False)
    ]


def test_unreachable_token_is_refused(tmp_path: Path):
    """Merges a, b -> ab; c, d -> cd; ab, c -> abc; abc, d -> abcd: HF turns "abcd" into [ab, cd] (cd wins
    over abc), tiktoken would give [abcd]. The converter must notice and refuse."""
    from tokenizers import Tokenizer, models

    from finemill.tokenize.encoder import NotRepresentable
    from finemill.tokenize.patterns import bytes_to_unicode

    b2u = bytes_to_unicode()
    vocab = {b2u[b]: i for i, b in enumerate(range(256))}
    merges = [("a", "b"), ("c", "d"), ("ab", "c"), ("abc", "d")]
    for left, right in merges:
        vocab[left + right] = len(vocab)
    tok = empty_tokenizer()
    tok.model = models.BPE(vocab=vocab, merges=merges)
    hf = Tokenizer.from_str(tok.to_str())
    with pytest.raises(NotRepresentable, match="reached"):
        tiktoken_from_hf(hf)


def test_transformers_loads_the_trained_tokenizer(trained: Path):
    transformers = pytest.importorskip("transformers")
    fast = transformers.PreTrainedTokenizerFast(tokenizer_file=str(trained), eos_token=EOT_TOKEN)
    enc = Encoder.from_file(trained)
    for text in generated_texts(20):
        assert fast(text, add_special_tokens=False)["input_ids"] == enc.encode(text)
    assert fast.eos_token_id == enc.eot_id


def test_bad_tokenizer_files(tmp_path: Path):
    with pytest.raises(FinemillError, match="not found"):
        Encoder.from_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(FinemillError, match="not a valid tokenizer.json"):
        Encoder.from_file(bad)


def test_small_corpus_gives_a_smaller_vocab_with_eot_last(tmp_path: Path):
    tok = train_tokenizer(["hello world, hello tokens"] * 3, 1024)
    enc = Encoder(tok)
    assert 257 < enc.vocab_size < 1024
    assert enc.eot_id == enc.vocab_size - 1
    assert enc.decode(enc.encode("hello there")) == "hello there"


def test_vocab_too_small():
    with pytest.raises(FinemillError, match="at least 257"):
        train_tokenizer(["hello"], 100)
