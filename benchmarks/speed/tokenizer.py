"""Benchmark finemill's encoder against HF `tokenizers`, and time BPE training.

    python -m benchmarks.speed.tokenizer                     # real docs from ../shared/data, vocab 32768
    python -m benchmarks.speed.tokenizer --train-mb 100 --repeats 5

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
    parser.add_argument("--phase", choices=["encode"], help=argparse.SUPPRESS)
    args = parser.parse_args()

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
