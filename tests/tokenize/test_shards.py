"""`finemill tokenize OUT`: shards agree with the manifest, round-trip, split stably, resume, fail clearly."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from finemill.cli import main
from finemill.errors import FinemillError
from finemill.tokenize.encoder import Encoder
from finemill.tokenize.manifest import load_manifest, sha256_file
from finemill.tokenize.run import tokenize_run
from finemill.tokenize.shards import ShardSettings, write_shards
from finemill.tokenize.split import is_val
from tests.conftest import SHARED_DATA

DATA = SHARED_DATA
CRAWL = DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"

SETTINGS = ShardSettings(shard_tokens=6000, val_fraction=0.1, seed=0, workers=1, group_tokens=2000)


def generated_documents(n: int = 240) -> list[tuple[str, str]]:
    """(id, text) pairs of web-like text, a few of them empty, so tests run without the shared data."""
    rng = random.Random(42)
    common = (
        "the of and to in a is that for it on with as was by at be this from have or are an not which "
        "home about contact news blog shop cart login privacy cookies terms Ångström naïve café Zürich "
        "東京 北京 数据 😀 👍 don't we'll IT'S 2019 3.14 $1,299.99 https://example.com/a?b=1 #tag @user"
    ).split()
    syllables = (
        "ka ri to on ex ple mar ven tis lo qua der sun fi ga ment ion al pre con tra bel oro ny".split()
    )

    def word() -> str:
        if rng.random() < 0.5:
            return rng.choice(common)
        return "".join(rng.choice(syllables) for _ in range(rng.randint(1, 4)))

    docs = []
    for k in range(n):
        if k % 40 == 7:
            docs.append((f"<urn:uuid:gen-{k:04d}>", ""))
            continue
        paras = []
        for _ in range(rng.randint(1, 6)):
            sentence = " ".join(word() for _ in range(rng.randint(3, 50)))
            paras.append(sentence[0].upper() + sentence[1:] + rng.choice([".", "!", "?", "..."]))
        docs.append((f"<urn:uuid:gen-{k:04d}>", "\n\n".join(paras)))
    return docs


def write_run(out: Path, docs: list[tuple[str, str]], files: int = 3, row_group_size: int = 25) -> Path:
    """OUT/documents/*.parquet with FineWeb's columns, as `finemill run` writes them."""
    folder = out / "documents"
    folder.mkdir(parents=True)
    for f in range(files):
        part = docs[f::files]
        table = pa.table(
            {
                "text": [t for _, t in part],
                "id": [i for i, _ in part],
                "dump": ["CC-MAIN-2019-30"] * len(part),
                "url": [f"https://example.com/{i}" for i, _ in part],
                "date": ["2019-07-17T12:15:59Z"] * len(part),
                "file_path": ["s3://commoncrawl/x.warc.gz"] * len(part),
                "language": ["en"] * len(part),
                "language_score": [0.9] * len(part),
            }
        )
        pq.write_table(table, folder / f"part_{f:02d}.parquet", row_group_size=row_group_size)
    return out


def read_shards(tokens: Path, manifest: dict) -> dict[str, list[dict]]:
    """Every row of every shard in the manifest, per split, checking each shard against its entry."""
    rows: dict[str, list[dict]] = {}
    for split, block in manifest["splits"].items():
        rows[split] = []
        for shard in block["shards"]:
            table = pq.read_table(tokens / shard["path"])
            assert table.schema.field("input_ids").type == pa.list_(getattr(pa, manifest["dtype"])())
            part = table.to_pylist()
            assert len(part) == shard["documents"]
            assert sum(r["num_tokens"] for r in part) == shard["tokens"]
            rows[split].extend(part)
    return rows


def run(out: Path, **kwargs) -> dict:
    kwargs.setdefault("vocab_size", 512)
    kwargs.setdefault("settings", SETTINGS)
    return tokenize_run(out, log=lambda _: None, **kwargs)


def shard_bytes(tokens: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tokens)): p.read_bytes() for p in sorted(tokens.glob("*/shard_*.parquet"))}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict, list[tuple[str, str]]]:
    docs = generated_documents()
    out = write_run(tmp_path_factory.mktemp("gen") / "out", docs)
    return out, run(out), docs


def test_generated_run_matches_manifest_and_round_trips(generated):
    out, manifest, docs = generated
    tokens = out / "tokens"
    rows = read_shards(tokens, manifest)
    texts = dict(docs)
    enc = Encoder.from_file(tokens / "tokenizer.json")

    assert manifest["format"] == "finemill-tokens-v1"
    tok = manifest["tokenizer"]
    assert tok["path"] == "tokenizer.json" and tok["sha256"] == sha256_file(tokens / "tokenizer.json")
    assert (
        tok["vocab_size"] == 512 and tok["eot_id"] == 511 and tok["special_tokens"] == {"<|endoftext|>": 511}
    )
    assert manifest["dtype"] == "uint16" and manifest["encoder"]["backend"] == "tiktoken"

    empties = sum(1 for _, t in docs if not t)
    assert manifest["source"]["documents"] == len(docs)
    assert manifest["source"]["empty_documents"] == empties > 0
    written = [r for split in rows.values() for r in split]
    assert len(written) == len(docs) - empties
    assert len({r["id"] for r in written}) == len(written)  # every document exactly once
    for split, block in manifest["splits"].items():
        assert block["documents"] == len(rows[split])
        assert block["tokens"] == sum(r["num_tokens"] for r in rows[split])
    total_tokens = sum(b["tokens"] for b in manifest["splits"].values())
    assert manifest["source"]["bytes"] == sum(len(t.encode()) for _, t in docs)
    assert manifest["bytes_per_token"] == pytest.approx(manifest["source"]["bytes"] / total_tokens, abs=1e-4)

    for r in written:
        assert r["num_tokens"] == len(r["input_ids"]) > 0
        assert tok["eot_id"] not in r["input_ids"]  # the loader inserts it between documents
        assert enc.decode(r["input_ids"]) == texts[r["id"]]

    # Shards close at the first document boundary at or after shard_tokens.
    train = manifest["splits"]["train"]["shards"]
    assert len(train) >= 3
    assert all(s["tokens"] >= SETTINGS.shard_tokens for s in train[:-1])
    assert {r["id"] for r in rows["val"]} == {i for i, t in docs if t and is_val(i, SETTINGS.val_fraction)}
    assert rows["val"], "0.1 of 240 documents should give some val"


def test_the_manifest_written_is_the_one_training_reads(generated):
    out, manifest, _ = generated
    read = load_manifest(out / "tokens")  # what `finemill train` and `eval` read, through the same module
    assert read.raw == manifest
    assert (read.vocab_size, read.eot_id, read.dtype) == (512, 511, "uint16")
    assert read.tokenizer_path == out / "tokens" / "tokenizer.json" and read.tokenizer_path.is_file()
    assert read.tokenizer_sha256 == sha256_file(read.tokenizer_path)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.update(format="finemill-tokens-v0"), "expected 'finemill-tokens-v1'"),
        (
            lambda m: m["tokenizer"].pop("vocab_size"),
            "key 'tokenizer.vocab_size' is missing or not an integer",
        ),
        (lambda m: m.update(dtype="int8"), "dtype 'int8' is not uint16 or uint32"),
        (lambda m: m["tokenizer"].update(vocab_size=70_000), "vocab_size 70000 does not fit dtype uint16"),
        (lambda m: m["tokenizer"].update(eot_id=512), "eot_id 512 is outside the vocab (size 512)"),
        (lambda m: m["splits"]["train"].update(shards=[]), "the train split has no shards"),
    ],
)
def test_a_bad_manifest_is_one_line_naming_the_field(generated, tmp_path: Path, change, message):
    out, manifest, _ = generated
    bad = json.loads(json.dumps(manifest))
    change(bad)
    (tmp_path / "manifest.json").write_text(json.dumps(bad))
    with pytest.raises(FinemillError) as error:
        load_manifest(tmp_path / "manifest.json")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_split_and_order_stable_across_workers_reruns_and_layout(generated, tmp_path: Path):
    out, manifest, docs = generated
    tokenizer = out / "tokens" / "tokenizer.json"
    # Same documents, other file layout and row groups, two workers, tokenizer given instead of trained.
    other = write_run(tmp_path / "two", docs, files=2, row_group_size=40)
    settings2 = ShardSettings(**{**SETTINGS.__dict__, "workers": 2})
    m2 = run(other, tokenizer=tokenizer, settings=settings2)
    assert m2["tokenizer"]["sha256"] == manifest["tokenizer"]["sha256"]
    rows1, rows2 = read_shards(out / "tokens", manifest), read_shards(other / "tokens", m2)
    for split in ("train", "val"):
        assert {r["id"] for r in rows1[split]} == {r["id"] for r in rows2[split]}
        assert m2["splits"][split]["tokens"] == manifest["splits"][split]["tokens"]

    # Same layout, one vs two workers: the very same bytes.
    same = write_run(tmp_path / "same", docs)
    run(same, tokenizer=tokenizer, settings=settings2)
    assert shard_bytes(same / "tokens") == shard_bytes(out / "tokens")

    # Another seed reorders documents but never moves one between train and val.
    seeded = write_run(tmp_path / "seed", docs)
    m3 = run(seeded, tokenizer=tokenizer, settings=ShardSettings(**{**SETTINGS.__dict__, "seed": 7}))
    rows3 = read_shards(seeded / "tokens", m3)
    assert {r["id"] for r in rows3["val"]} == {r["id"] for r in rows1["val"]}
    assert [r["id"] for r in rows3["train"]] != [r["id"] for r in rows1["train"]]


def test_resume_skips_finished_shards_and_rewrites_partial_ones(generated, tmp_path: Path):
    out, manifest, docs = generated
    run_dir = write_run(tmp_path / "resume", docs)
    full = run(run_dir, tokenizer=out / "tokens" / "tokenizer.json")
    tokens = run_dir / "tokens"
    before = shard_bytes(tokens)

    # Simulate a crash: the manifest and the last two train shards missing, a half-written temp file left.
    (tokens / "manifest.json").unlink()
    train = sorted((tokens / "train").glob("shard_*.parquet"))
    for p in train[-2:]:
        p.unlink()
    (tokens / "train" / f".{train[-2].name}.tmp").write_bytes(b"partial")
    kept = {p: p.stat().st_mtime_ns for p in train[:-2]}

    messages: list[str] = []
    resumed = tokenize_run(
        run_dir,
        tokenizer=out / "tokens" / "tokenizer.json",
        vocab_size=512,
        settings=SETTINGS,
        log=messages.append,
    )
    assert any("resuming" in m for m in messages)
    assert shard_bytes(tokens) == before
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # finished shards were not rewritten
    assert not list(tokens.glob("*/.*.tmp"))
    assert {k: v for k, v in resumed.items() if k != "source"} == {
        k: v for k, v in full.items() if k != "source"
    }

    messages.clear()
    tokenize_run(run_dir, tokenizer=out / "tokens" / "tokenizer.json", settings=SETTINGS, log=messages.append)
    assert any("nothing to do" in m for m in messages)


def test_changed_settings_need_overwrite(generated, tmp_path: Path):
    out, _, docs = generated
    run_dir = write_run(tmp_path / "change", docs)
    tokenizer = out / "tokens" / "tokenizer.json"
    run(run_dir, tokenizer=tokenizer)
    other = ShardSettings(**{**SETTINGS.__dict__, "shard_tokens": 9000})
    manifest_path = run_dir / "tokens" / "manifest.json"
    before = manifest_path.read_bytes()
    with pytest.raises(FinemillError, match="--overwrite"):
        run(run_dir, tokenizer=tokenizer, settings=other)
    assert manifest_path.read_bytes() == before  # a mistaken rerun destroys nothing
    manifest = run(run_dir, tokenizer=tokenizer, settings=other, overwrite=True)
    assert manifest["shard_tokens"] == 9000
    read_shards(run_dir / "tokens", manifest)


def test_real_documents_run(tmp_path: Path):
    if not CRAWL.is_file():
        pytest.skip(f"real data not available at {CRAWL}")
    with gzip.open(CRAWL, "rt", encoding="utf-8") as f:
        docs = [(d["id"], d["text"]) for d in map(json.loads, f)]
    out = write_run(tmp_path / "real", docs, files=2, row_group_size=100)
    settings = ShardSettings(shard_tokens=400_000, val_fraction=0.02, workers=2)
    manifest = run(out, vocab_size=1024, sample_bytes=1_000_000, settings=settings)
    rows = read_shards(out / "tokens", manifest)
    enc = Encoder.from_file(out / "tokens" / "tokenizer.json")
    texts = dict(docs)
    written = [r for split in rows.values() for r in split]
    assert len(written) == len(docs) - sum(1 for _, t in docs if not t)
    assert manifest["source"]["bytes"] == sum(len(t.encode()) for _, t in docs)
    for r in written:
        assert enc.decode(r["input_ids"]) == texts[r["id"]]
    assert len(manifest["splits"]["train"]["shards"]) >= 2 and rows["val"]
    assert 1.5 < manifest["bytes_per_token"] < 4.0  # 1024 tokens on web text, ~9% of it non-ASCII


# -- the command line --------------------------------------------------------------------------------------


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["tokenize", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_run_and_inspect(generated, tmp_path: Path, capsys):
    out, _, docs = generated
    run_dir = write_run(tmp_path / "cli", docs)
    code, stdout, _ = cli(
        capsys,
        str(run_dir),
        "--vocab-size",
        "512",
        "--shard-tokens",
        "6k",
        "--val-fraction",
        "0.1",
        "--workers",
        "1",
    )
    assert code == 0 and "manifest:" in stdout and "train:" in stdout
    manifest = json.loads((run_dir / "tokens" / "manifest.json").read_text())

    shard = run_dir / "tokens" / manifest["splits"]["val"]["shards"][0]["path"]
    first = pq.read_table(shard).slice(1, 1).to_pylist()[0]
    code, stdout, _ = cli(capsys, "--inspect", str(shard), "--row", "1", "--max-tokens", "0")
    assert code == 0
    assert first["id"] in stdout and f"{first['num_tokens']} tokens" in stdout
    assert f"ids: {first['input_ids']}" in stdout.replace("\n", "")
    # Without a terminal, tokens are separated by bars: removing them gives the document back.
    shown = stdout[stdout.index("\n\n") + 2 : stdout.rindex("\n\nids:")]
    assert shown.replace("│", "").replace("↵", "") == dict(docs)[first["id"]]
    assert 0 < shown.count("│") <= first["num_tokens"] - 1  # tokens inside one character share a span

    code, _, err = cli(capsys, "--inspect", str(shard), "--row", "100000")
    assert code == 2 and "out of range" in err


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing_run", "run folder not found"),
        ("no_documents", "no documents folder"),
        ("no_parquet", "no *.parquet files"),
        ("zero_rows", "have no rows"),
        ("all_empty", "saw no text"),
        ("bad_tokenizer_path", "tokenizer file not found"),
        ("bad_tokenizer_file", "not a valid tokenizer.json"),
        ("no_out", "give the run folder OUT"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, capsys, case: str, message: str):
    out = tmp_path / "out"
    args = [str(out), "--vocab-size", "300"]
    if case != "missing_run":
        out.mkdir()
    if case in ("no_parquet", "zero_rows", "all_empty", "bad_tokenizer_path", "bad_tokenizer_file"):
        (out / "documents").mkdir()
    if case == "zero_rows":
        pq.write_table(
            pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())}),
            out / "documents" / "a.parquet",
        )
    if case in ("all_empty", "bad_tokenizer_path", "bad_tokenizer_file"):
        pq.write_table(pa.table({"id": ["a", "b"], "text": ["", ""]}), out / "documents" / "a.parquet")
    if case == "bad_tokenizer_path":
        args += ["--tokenizer", str(tmp_path / "missing" / "tokenizer.json")]
    if case == "bad_tokenizer_file":
        bad = tmp_path / "tokenizer.json"
        bad.write_text('{"model": "nope"}')
        args += ["--tokenizer", str(bad)]
    if case == "no_out":
        args = []
    code, _, err = cli(capsys, *args)
    assert code == 2
    last = err.strip().splitlines()[-1]  # earlier lines are progress messages
    assert last.startswith("finemill tokenize: error:") and message in last and "Traceback" not in err


def test_uint32_shards_when_the_vocab_does_not_fit_uint16(generated, tmp_path: Path):
    out, _, docs = generated
    run_dir = write_run(tmp_path / "wide", docs[:60])
    (run_dir / "tokens").mkdir()
    (run_dir / "tokens" / "tokenizer.json").write_bytes((out / "tokens" / "tokenizer.json").read_bytes())
    enc = Encoder.from_file(run_dir / "tokens" / "tokenizer.json")
    enc.vocab_size = 70_000  # as if the vocabulary were larger than 65536
    assert enc.dtype == "uint32"
    manifest = write_shards(
        run_dir / "documents", run_dir / "tokens", enc, SETTINGS, progress=False, log=lambda _: None
    )
    assert manifest["dtype"] == "uint32"
    rows = read_shards(run_dir / "tokens", manifest)
    texts = dict(docs)
    assert all(enc.decode(r["input_ids"]) == texts[r["id"]] for split in rows.values() for r in split)
