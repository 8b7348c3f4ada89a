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


def write_run_per_language(root) -> dict[str, list[str]]:
    """documents/fr/ and documents/th/ of Tatoeba's French and Thai sentences (each five times, own ids)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from finemill.steps.write.parquet import DOCUMENT_SCHEMA

    rows = csv.DictReader(shared_file("lid/tatoeba/tatoeba_long.txt").open(encoding="utf-8"), delimiter="\t")
    by_language = {"fr": [], "th": []}
    for r in rows:
        code = {"fra": "fr", "tha": "th"}.get(r["Tatoeba-iso-639-3"])
        if code:
            by_language[code].append(r["text"])
    for language, texts in by_language.items():
        folder = root / "documents" / language
        folder.mkdir(parents=True)
        table = pa.Table.from_pylist(
            [{"id": f"{language}-{i}", "text": t, "language": language} for i, t in enumerate(texts * 5)],
            schema=DOCUMENT_SCHEMA,
        )
        pq.write_table(table, folder / "00000.parquet")
    return {language: [f"{language}-{i}" for i in range(5 * len(t))] for language, t in by_language.items()}


def test_shards_of_a_run_per_language_record_each_documents_language(tmp_path):
    import pyarrow.parquet as pq

    from finemill.tokenize.run import tokenize_run

    write_run_per_language(tmp_path)
    manifest = tokenize_run(tmp_path, vocab_size=400, log=lambda _: None)
    shard = pq.read_table(tmp_path / "tokens" / manifest["splits"]["train"]["shards"][0]["path"])
    languages = dict(zip(shard["id"].to_pylist(), shard["language"].to_pylist(), strict=True))
    assert set(languages.values()) == {"fr", "th"}
    assert all(doc_id.startswith(language) for doc_id, language in languages.items())


def test_languages_mixed_by_weight_keep_the_same_documents_everywhere(tmp_path):
    import pyarrow.parquet as pq
    import pytest

    from finemill.errors import FinemillError
    from finemill.tokenize.documents import mix_hash
    from finemill.tokenize.mix import parse_languages
    from finemill.tokenize.run import tokenize_run
    from finemill.tokenize.shards import ShardSettings

    ids = write_run_per_language(tmp_path)
    weights = parse_languages("fr=3,th=1")
    assert weights == (("fr", 0.75), ("th", 0.25))
    settings = ShardSettings(val_fraction=0.1, languages=weights)
    manifest = tokenize_run(tmp_path, vocab_size=400, settings=settings, log=lambda _: None)
    written = []
    for split in manifest["splits"].values():
        for shard in split["shards"]:
            written += pq.read_table(tmp_path / "tokens" / shard["path"], columns=["id"])["id"].to_pylist()
    # one language keeps every document, the other the documents whose draw is below its share
    by_language = {lang: sorted(i for i in written if i.startswith(lang)) for lang in ids}
    full = [lang for lang in ids if len(by_language[lang]) == len(ids[lang])]
    assert len(full) == 1
    (other,) = set(ids) - set(full)
    assert 0 < len(by_language[other]) < len(ids[other])
    drawn = [mix_hash(i) for i in ids[other]]
    cut = max(mix_hash(i) for i in by_language[other])
    assert by_language[other] == sorted(i for i, d in zip(ids[other], drawn, strict=True) if d <= cut)
    with pytest.raises(FinemillError, match="not LANGUAGE=WEIGHT"):
        parse_languages("fr=0")
