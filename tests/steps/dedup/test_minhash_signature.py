"""finemill's MinhashSignature writes the same signature files, byte for byte, as datatrove's
MinhashDedupSignature; its parts (normalisation, word splitting, permutations) agree with datatrove's."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from datatrove.data import Document
from datatrove.pipeline.dedup.minhash import MinhashDedupSignature
from datatrove.utils.text import simplify_text

from finemill.steps.dedup.config import MinhashDedup
from finemill.steps.dedup.minhash import MinhashSignature, min_hashes
from finemill.steps.dedup.minhash.text import simplify
from tests.conftest import QUICK_AND_REST, part_of, shared_file

CONFIGS = {
    "sha1-64 (FineWeb)": MinhashDedup().config(),
    "xxhash-32": MinhashDedup(hash_fc="xxhash", precision=32).config(),
}


def _real_texts() -> list[str]:
    path = shared_file("crawl/CC-MAIN-2019-30-extracted-text.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def _signature_files(step_cls, texts: list[str], folder: Path, config) -> dict[str, bytes]:
    step = step_cls(output_folder=str(folder), config=config)
    docs = (Document(text=t, id=str(i)) for i, t in enumerate(texts))
    for _ in step.run(docs, rank=0, world_size=1) or ():
        pass
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.sig"))}


def _assert_same_files(texts: list[str], tmp_path: Path, config) -> dict[str, bytes]:
    ours = _signature_files(MinhashSignature, texts, tmp_path / "finemill", config)
    reference = _signature_files(MinhashDedupSignature, texts, tmp_path / "datatrove", config)
    assert len(reference) == config.num_buckets
    assert ours.keys() == reference.keys()
    for name in reference:
        assert ours[name] == reference[name], name
    return reference


@pytest.mark.parametrize("part", QUICK_AND_REST)
@pytest.mark.parametrize("config_name", list(CONFIGS))
def test_same_signature_files_as_datatrove_on_real_documents(config_name, part, tmp_path):
    texts = part_of(_real_texts(), part)
    files = _assert_same_files(texts, tmp_path, CONFIGS[config_name])
    assert all(len(data) > 0 for data in files.values())


EDGE_CASES = [
    "",
    "   \n\t  ",
    "!!! ... ???",
    "four words only here",
    "exactly five words right here",
    "Héllo wörld, ça va? Ünïcödé façade naïve café résumé coöperate",
    "e\u0301te\u0301 decomposed accents and a lone mark \u0301 between spaces",
    "東京は日本の首都です。 北京 上海 广州 深圳 香港",
    "مرحبا بالعالم هذا نص عربي للاختبار ، مع فاصلة",
    "Привет мир, это проверка кириллицы и ещё немного слов",
    "emoji 😀 🎉 👍🏽 inside a sentence with flags 🇫🇷 and more",
    "I dont think we cant, im sure youre gonna say cannot, id say wont",
    "Prices: $1,000.50 or 2.5% off 10km 5mm 3° 20€ n°4 ¿que? ‘quote’ «guillemets»",
    "non-breaking\u00a0space, em\u2003space, ideographic\u3000space, line\u2028separator and tabs\tand\nnewlines",
    "IS_ALPHA breaks spacy sometimes is_alpha IS_ALPHA IS_ALPHA word",
    "Monday January 1st 2024 at 10:30am see https://example.com/a?b=c or mail me@example.com",
    "the same sentence again and again. " * 50,
]


@pytest.mark.parametrize("config_name", list(CONFIGS))
def test_same_signature_files_as_datatrove_on_edge_cases(config_name, tmp_path):
    # one very long document too: 100,000 words from a real page's vocabulary
    rng = np.random.default_rng(0)
    vocab = "the of and a to in is was for on that with as by it at from his an were are which".split()
    vocab += ["naïve", "東京", "dont", "10km", "café", "x-ray", "e-mail", "U.S.A.", "can't"]
    long_doc = " ".join(rng.choice(vocab, size=100_000))
    _assert_same_files([*EDGE_CASES, long_doc], tmp_path, CONFIGS[config_name])


def test_simplify_matches_datatrove_on_every_code_point():
    # every code point (surrogates included) between letters, in one text, and each alone with a digit
    chars = [chr(cp) for cp in range(sys.maxunicode + 1)]
    text = "Ab".join(chars)
    assert simplify(text) == simplify_text(text)
    texts = [f"{c}1.5 {c}" for c in chars[::97]]
    assert [simplify(t) for t in texts] == [simplify_text(t) for t in texts]


def test_simplify_matches_datatrove_on_real_documents():
    texts = _real_texts()
    assert [simplify(t) for t in texts] == [simplify_text(t) for t in texts]


@pytest.mark.parametrize("precision", [64, 32])
def test_min_hashes_match_datatrove_including_the_rare_wraparound(precision):
    config = MinhashDedup(precision=precision, hash_fc="sha1").config()
    step = MinhashDedupSignature(output_folder="/tmp/unused", config=config)
    a, b = step.parameters  # uint64 (1, 112)
    rng = np.random.default_rng(1)
    hashes = rng.integers(0, 2**64, size=3000, dtype=np.uint64, endpoint=False)
    # x with (x * a + b) mod 2**64 == 2**64 - 1 for the first odd a: its high and low 61-bit parts add up to
    # more than the prime, the case the division-free reduction must correct.
    j = int(np.flatnonzero(a[0] % 2 == 1)[0])
    aj, bj = int(a[0, j]), int(b[0, j])
    x = ((2**64 - 1 - bj) * pow(aj, -1, 2**64)) % 2**64
    extremes = np.array([0, 1, 2**61 - 1, 2**61, 2**63, 2**64 - 1, x], dtype=np.uint64)
    for sample in (
        hashes,
        np.concatenate([hashes, extremes]),
        extremes,
        hashes[:1],
        np.repeat(hashes[:7], 90),
    ):
        expected = np.array(
            step.get_signature(sample.reshape(-1, 1)), dtype=config.hash_config.np_dtype
        ).ravel()
        got = min_hashes(sample, a, b, precision)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
