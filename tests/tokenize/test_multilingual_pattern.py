"""The multilingual split pattern: Thai and Indic words stay whole, and tiktoken gives HF's ids with it."""

from __future__ import annotations

import csv

import regex

from finemill.tokenize.encoder import Encoder, tiktoken_from_hf
from finemill.tokenize.patterns import GPT4_PATTERN, MULTILINGUAL_PATTERN
from finemill.tokenize.run import split_pattern
from finemill.tokenize.train_bpe import train_tokenizer
from tests.conftest import shared_file


def test_marks_stay_with_their_letters():
    thai, hindi = "ภาษาไทยเป็นภาษา", "नमस्ते दुनिया"
    assert regex.findall(MULTILINGUAL_PATTERN, thai) == [thai]
    assert regex.findall(MULTILINGUAL_PATTERN, hindi) == ["नमस्ते", " दुनिया"]
    assert len(regex.findall(GPT4_PATTERN, thai)) > 1  # GPT-4's cuts at the vowel signs
    english = "The council met on day 3, didn't it?"
    assert regex.findall(MULTILINGUAL_PATTERN, english) == regex.findall(GPT4_PATTERN, english)


def test_run_written_per_language_trains_with_it(tmp_path):
    documents = tmp_path / "documents"
    assert split_pattern([documents / "00000.parquet"]) == GPT4_PATTERN
    assert split_pattern([documents / "fr" / "00000.parquet"]) == MULTILINGUAL_PATTERN


def test_tiktoken_gives_hf_ids_with_the_multilingual_pattern():
    rows = csv.DictReader(shared_file("lid/tatoeba/tatoeba_long.txt").open(encoding="utf-8"), delimiter="\t")
    texts = [r["text"] for r in rows]
    hf = train_tokenizer(texts * 3, 1024, pattern=MULTILINGUAL_PATTERN)
    encoder = Encoder(hf, tiktoken_from_hf(hf))
    assert encoder.backend == "tiktoken"
    assert encoder.encode_batch(texts) == [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
