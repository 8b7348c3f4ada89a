"""Benchmark finemill's encoder against HF `tokenizers`, and time BPE training.

    python -m benchmarks.speed.tokenizer                     # real docs from ../shared/data, vocab 32768
    python -m benchmarks.speed.tokenizer --train-mb 100 --repeats 5
    python -m benchmarks.speed.tokenizer --formats --copies 8 --repeats 5   # the cost of --format

--formats: `finemill tokenize` (tokenize_run, --workers 1) on the real documents repeated --copies times
(distinct ids), parquet alone against parquet + megatron + llmc + datatrove, alternating the two, the same
trained tokenizer for both; prints each side's median wall time and their ratio.

Encoding (same tokenizer, same text, same run, ids checked equal):
  finemill        Encoder.encode_flat: the tiktoken Encoding built from the BPE merges (what shard workers run)
  hf_batch        tokenizers.Tokenizer.encode_batch
  hf_single       tokenizers.Tokenizer.encode, one document at a time
Per-core figures come from a child process pinned to one CPU with RAYON_NUM_THREADS=1, so HF's thread
pool cannot borrow other cores; the best of --repeats runs is reported (the machine may be shared).

Training: train_tokenizer (HF BpeTrainer, all cores) on --train-mb MB of text. With the bundled 2.9 MB of
real documents the 100 MB are those documents cycled, which counts words at full cost but leaves the
number of distinct words, and so the merge phase, at the size of the 2.9 MB: a lower bound for 100 MB of
distinct text.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import SHARED_DATA, child_env, module_command

CRAWL = SHARED_DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"


def load_texts(path: Path) -> list[str]:
    if not path.is_file():
        sys.exit(f"real documents not found at {path}; pass --docs PATH (jsonl.gz with a 'text' field)")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def cycled(texts: list[str], total_bytes: int):
    """Yield texts round and round until `total_bytes` UTF-8 bytes."""
    seen = 0
    while seen < total_bytes:
        for text in texts:
            yield text
            seen += len(text.encode())
            if seen >= total_bytes:
                return


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def encode_phase(args) -> dict:
    """Runs in the pinned child: MB/s of the three encoders on the same text."""
    from tokenizers import Tokenizer

    from finemill.tokenize.encoder import Encoder

    texts = load_texts(Path(args.docs)) * args.copies
    nbytes = sum(len(t.encode()) for t in texts)
    enc = Encoder.from_file(args.tokenizer)
    hf = Tokenizer.from_file(args.tokenizer)
    hf.encode_special_tokens = True
    assert enc.backend == "tiktoken", enc.reason

    values, _ = enc.encode_flat(texts)  # warm-up, and the parity check
    reference = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
    assert values.tolist() == [i for ids in reference for i in ids], "finemill and HF ids differ"

    timings = {}
    for _ in range(args.repeats):  # interleaved, so a busy moment on the machine hits all three
        for name, fn in (
            ("finemill", lambda: enc.encode_flat(texts)),
            ("hf_batch", lambda: hf.encode_batch(texts, add_special_tokens=False)),
            ("hf_single", lambda: [hf.encode(t, add_special_tokens=False) for t in texts]),
        ):
            timings[name] = min(timings.get(name, float("inf")), best_time(fn, 1))
    return {
        "bytes": nbytes,
        "tokens": int(len(values)),
        "cpus": sorted(os.sched_getaffinity(0)),
        "mb_per_s": {k: nbytes / t / 1e6 for k, t in timings.items()},
    }


def write_documents(texts: list[str], copies: int, folder: Path) -> int:
    """OUT/documents/00000.parquet: the texts `copies` times, each copy with its own ids; returns bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    docs = [(f"<doc-{c}-{i}>", t) for c in range(copies) for i, t in enumerate(texts)]
    table = pa.table({"text": [t for _, t in docs], "id": [i for i, _ in docs]})
    pq.write_table(table, folder / "00000.parquet", row_group_size=1000)
    return sum(len(t.encode()) for _, t in docs)


def formats_comparison(args) -> int:
    """Wall time of tokenize with every --format over parquet alone, alternating runs on the same input."""
    import statistics

    from finemill.tokenize.formats import NAMES
    from finemill.tokenize.run import tokenize_run
    from finemill.tokenize.shards import ShardSettings

    texts = load_texts(Path(args.docs))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        nbytes = write_documents(texts, args.copies, out / "documents")
        tokenizer = out / "tokens" / "tokenizer.json"
        sides = {"parquet": ("parquet",), "all formats": NAMES}
        times: dict[str, list[float]] = {side: [] for side in sides}
        for k in range(args.repeats + 1):  # the first round warms the caches and trains the tokenizer
            for side, formats in sides.items():
                settings = ShardSettings(shard_tokens=args.shard_tokens, workers=1, formats=formats)
                given = tokenizer if tokenizer.is_file() else None
                start = time.perf_counter()
                manifest = tokenize_run(
                    out,
                    tokenizer=given,
                    vocab_size=args.vocab_size,
                    settings=settings,
                    overwrite=True,
                    log=lambda _: None,
                )
                if k:
                    times[side].append(time.perf_counter() - start)
    tokens = sum(b["tokens"] for b in manifest["splits"].values())
    shards = sum(len(b["shards"]) for b in manifest["splits"].values())
    print(
        f"tokenize --workers 1: {nbytes / 1e6:.1f} MB -> {tokens:,} tokens, {shards} shards, vocab {args.vocab_size}"
    )
    medians = {side: statistics.median(t) for side, t in times.items()}
    for side, t in times.items():
        print(f"  {side:12s} median {medians[side]:.2f} s  ({', '.join(f'{x:.2f}' for x in t)})")
    ratio = medians["all formats"] / medians["parquet"]
    print(
        f"all formats / parquet alone: {ratio:.3f}x (target <= 1.10: {'met' if ratio <= 1.10 else 'NOT met'})"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", default=str(CRAWL), help="jsonl.gz of documents with a 'text' field")
    parser.add_argument("--tokenizer", help="tokenizer.json to benchmark (default: train one on --docs)")
    parser.add_argument("--vocab-size", type=int, default=32768)
    parser.add_argument("--copies", type=int, default=2, help="encode the documents this many times per run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train-mb", type=float, default=100.0, help="MB of text for the training benchmark")
    parser.add_argument(
        "--formats", action="store_true", help="time tokenize with all --format against parquet"
    )
    parser.add_argument("--shard-tokens", type=int, default=2_000_000, help="tokens per shard with --formats")
    parser.add_argument("--phase", choices=["encode"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.formats:
        return formats_comparison(args)

    if args.phase == "encode":
        print(json.dumps(encode_phase(args)))
        return 0

    from finemill.tokenize.train_bpe import save_tokenizer, train_tokenizer

    texts = load_texts(Path(args.docs))
    corpus_mb = sum(len(t.encode()) for t in texts) / 1e6
    print(f"documents: {len(texts)} real documents, {corpus_mb:.2f} MB ({args.docs})")
    print(f"machine: {os.cpu_count()} CPUs, {len(os.sched_getaffinity(0))} available to this process")

    # BPE training time on --train-mb MB (all cores).
    train_bytes = int(args.train_mb * 1e6)
    start = time.perf_counter()
    tok = train_tokenizer(cycled(texts, train_bytes), args.vocab_size)
    train_s = time.perf_counter() - start
    how = "cycled real documents" if train_bytes > corpus_mb * 1e6 else "real documents"
    print(
        f"train: BPE vocab {args.vocab_size} on {args.train_mb:.0f} MB ({how}): {train_s:.1f} s "
        f"({args.train_mb / train_s:.1f} MB/s, {len(os.sched_getaffinity(0))} cores)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = args.tokenizer
        if tokenizer is None:  # the one just trained, on these very documents
            tokenizer = str(save_tokenizer(tok, Path(tmp) / "tokenizer.json"))
        cpu = min(os.sched_getaffinity(0))
        env = child_env(RAYON_NUM_THREADS="1", TOKENIZERS_PARALLELISM="true")
        cmd = module_command(
            __spec__.name,
            "--phase",
            "encode",
            "--docs",
            args.docs,
            "--tokenizer",
            tokenizer,
            "--copies",
            str(args.copies),
            "--repeats",
            str(args.repeats),
        )
        child = subprocess.run(["taskset", "-c", str(cpu), *cmd], env=env, capture_output=True, text=True)
        if child.returncode:
            sys.stderr.write(child.stderr)
            return child.returncode
        result = json.loads(child.stdout.strip().splitlines()[-1])

    mbs = result["mb_per_s"]
    print(
        f"encode, one core (cpu {result['cpus']}), {result['bytes'] / 1e6:.1f} MB -> {result['tokens']:,} tokens,"
        f" best of {args.repeats}:"
    )
    for name in ("finemill", "hf_batch", "hf_single"):
        print(
            f"  {name:10s} {mbs[name]:7.2f} MB/s per core   {mbs['finemill'] / mbs[name]:5.2f}x slower than finemill"
            if name != "finemill"
            else f"  {name:10s} {mbs[name]:7.2f} MB/s per core"
        )
    ratio = mbs["finemill"] / mbs["hf_batch"]
    print(
        f"finemill / HF encode_batch per core: {ratio:.2f}x (target >= 3x: {'met' if ratio >= 3 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
