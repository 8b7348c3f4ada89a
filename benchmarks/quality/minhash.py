"""MinHash at FineWeb's settings on human-judged near-duplicate pairs, and signature throughput.

    python -m benchmarks.quality.minhash                 # both parts; writes docs/minhash-quality.png
    python -m benchmarks.quality.minhash --repeats 5 --no-speed

Quality: the 240 CC-MAIN-2015-11 page pairs of ../shared/data/neardup/cc1511_pairs.jsonl.gz (chatnoir-copycat,
MIT), each judged by a person (label 3 = most similar ... 0.5 = least). For each pair: the signatures at
FineWeb's settings (word 5-grams, 14 buckets x 8 hashes, sha1 64-bit, computed by finemill's signer, which
writes datatrove's bytes), whether MinHash would flag the pair (some bucket's 8 hashes all equal), and the
true Jaccard similarity s of the two 5-gram shingle sets. With b buckets of r hashes, a pair is flagged with
probability 1 - (1 - s^r)^b: the plot puts each pair on that S-curve.

Speed (one core: the process is pinned to one CPU and timed in CPU seconds; best of --repeats) on the 697
real documents of crawl/CC-MAIN-2019-30-extracted-text.jsonl.gz plus the 480 pair texts:
  finemill          MinhashSignature.get_shingles + get_signature: text -> signature (FineWeb's bytes)
  datatrove         MinhashDedupSignature.get_shingles + get_signature, the same
  datasketch        MinHash(num_perm=112).update_batch on the same shingles (the 5-gram strings as UTF-8), with
                    the permutations drawn once; end to end it also needs FineWeb's shingles, made as datatrove
                    makes them
Every signer starts each repeat with empty caches (spaCy and lookup tables loaded beforehand). Writing
the signature files is datatrove's code in both steps and is not timed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.common import REPO, SHARED_DATA

PAIRS = SHARED_DATA / "neardup" / "cc1511_pairs.jsonl.gz"
DOCS = SHARED_DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"
PLOT = REPO / "docs" / "minhash-quality.png"
LABELS = ["3", "2", "1", "0.5", "other"]  # "other": unknown, 'unkown', '0.5s' as given in the file


@dataclass
class Pair:
    label: str
    src: str
    target: str


@dataclass
class PairResult:
    label: str
    jaccard: float  # of the two 5-gram shingle sets; nan when a text has fewer than 5 words
    flagged: bool  # some bucket's hashes all equal (never when a text has no signature)


def load_pairs(path: Path = PAIRS) -> list[Pair]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return [Pair(_label(row["label_raw"]), row["src_text"], row["target_text"]) for row in rows]


def _label(raw) -> str:
    text = str(raw).strip()
    return text if text in ("3", "2", "1", "0.5") else "other"


def fineweb_signer():
    """finemill's signer with FineWeb's settings (signature files are never written by this script)."""
    from finemill.steps.dedup.config import MinhashDedup
    from finemill.steps.dedup.minhash import MinhashSignature

    return MinhashSignature(output_folder="/tmp/finemill-minhash-unused", config=MinhashDedup().config())


def shingles(signer, text: str) -> list[str]:
    """The word n-gram strings the signature hashes: datatrove's simplify_text, spaCy words, n-grams."""
    from finemill.steps.dedup.minhash.hashing import ngram_strings
    from finemill.steps.dedup.minhash.text import simplify

    words = signer.word_tokenizer.word_tokenize(simplify(text, signer.config.norm_config))
    return ngram_strings(words, signer.config.n_grams)


def jaccard(a: set[str], b: set[str]) -> float:
    """|a & b| / |a | b|; nan when both are empty."""
    union = len(a | b)
    return len(a & b) / union if union else math.nan


def signature(signer, text: str) -> np.ndarray | None:
    """uint64 (num_buckets, hashes_per_bucket), or None for a text without shingles (datatrove writes none)."""
    hashes = signer.get_shingles(text)
    if hashes.size == 0:
        return None
    return np.array(signer.get_signature(hashes), dtype=np.uint64)


def flagged(sig_a: np.ndarray | None, sig_b: np.ndarray | None) -> bool:
    """MinHash LSH: a candidate pair when all hashes of at least one bucket are equal."""
    if sig_a is None or sig_b is None:
        return False
    return bool((sig_a == sig_b).all(axis=1).any())


def detection_probability(s: np.ndarray | float, hashes_per_bucket: int = 8, buckets: int = 14):
    """Probability that a pair of Jaccard similarity s shares at least one bucket: 1 - (1 - s^r)^b."""
    return 1 - (1 - np.asarray(s, dtype=float) ** hashes_per_bucket) ** buckets


def evaluate_pairs(pairs: Sequence[Pair], signer=None) -> list[PairResult]:
    signer = signer or fineweb_signer()
    results = []
    for pair in pairs:
        s = jaccard(set(shingles(signer, pair.src)), set(shingles(signer, pair.target)))
        hit = flagged(signature(signer, pair.src), signature(signer, pair.target))
        results.append(PairResult(pair.label, s, hit))
    return results


def label_table(results: Sequence[PairResult]) -> list[dict]:
    """Per label: pairs, flagged, share flagged, median Jaccard, and the flags the S-curve expects."""
    rows = []
    for label in LABELS:
        group = [r for r in results if r.label == label]
        if not group:
            continue
        s = np.array([r.jaccard for r in group])
        known = s[~np.isnan(s)]
        rows.append(
            {
                "label": label,
                "pairs": len(group),
                "flagged": sum(r.flagged for r in group),
                "share": sum(r.flagged for r in group) / len(group),
                "median_jaccard": float(np.median(known)) if known.size else math.nan,
                "expected_flagged": float(detection_probability(known).sum()),
            }
        )
    return rows


def print_table(rows: list[dict]) -> None:
    print(
        "| human label | pairs | flagged by MinHash | share | median Jaccard (5-grams) | expected from S-curve |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['label']} | {row['pairs']} | {row['flagged']} | {row['share']:.0%} | "
            f"{row['median_jaccard']:.2f} | {row['expected_flagged']:.1f} |"
        )


def plot(
    results: Sequence[PairResult], path: Path = PLOT, hashes_per_bucket: int = 8, buckets: int = 14
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"3": "#1b7837", "2": "#7fbf7b", "1": "#f1a340", "0.5": "#d73027", "other": "#999999"}
    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=110)
    s = np.linspace(0, 1, 401)
    ax.plot(
        s,
        detection_probability(s, hashes_per_bucket, buckets),
        color="black",
        lw=1.5,
        label=f"P(flagged) = 1-(1-s^{hashes_per_bucket})^{buckets}",
    )
    rng = np.random.default_rng(0)
    for label in LABELS:
        group = [r for r in results if r.label == label and not math.isnan(r.jaccard)]
        if not group:
            continue
        x = np.array([r.jaccard for r in group])
        y = np.array([float(r.flagged) for r in group]) + rng.uniform(-0.035, 0.035, len(group))  # jitter
        hit = np.array([r.flagged for r in group])
        ax.scatter(x[hit], y[hit], s=22, color=colours[label], marker="o", alpha=0.85, label=f"label {label}")
        ax.scatter(x[~hit], y[~hit], s=22, color=colours[label], marker="x", alpha=0.85)
    # Measured share flagged per Jaccard decile, for comparison with the curve.
    known = [r for r in results if not math.isnan(r.jaccard)]
    x = np.array([r.jaccard for r in known])
    y = np.array([r.flagged for r in known], dtype=float)
    edges = np.linspace(0, 1, 11)
    index = np.clip(np.digitize(x, edges) - 1, 0, 9)
    centres = [(edges[i] + edges[i + 1]) / 2 for i in range(10) if (index == i).any()]
    shares = [y[index == i].mean() for i in range(10) if (index == i).any()]
    ax.plot(centres, shares, "s--", color="#3060c0", ms=5, lw=1, label="measured share flagged (deciles)")
    ax.set_xlabel("Jaccard similarity of the pair's word 5-gram sets")
    ax.set_ylabel("flagged as duplicates (o yes, x no)")
    ax.set_title(f"MinHash at FineWeb's settings on {len(results)} human-judged page pairs")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.1, 1.1)
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------- speed


def load_docs(path: Path = DOCS) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def best_cpu_seconds(setup: Callable[[], object], run: Callable[[object], None], repeats: int) -> float:
    """Min over repeats of the CPU time of run(setup()), setup untimed (a fresh signer for each repeat)."""
    best = math.inf
    for _ in range(repeats):
        state = setup()
        start = time.process_time()
        run(state)
        best = min(best, time.process_time() - start)
    return best


def _sign_all(signer, texts: Sequence[str]) -> None:
    for text in texts:
        hashes = signer.get_shingles(text)
        if hashes.size:
            signer.get_signature(hashes)


def _fresh_finemill():
    signer = fineweb_signer()
    signer.word_tokenizer.word_tokenize("warm up")  # load spaCy outside the timing
    signer.word_tokenizer._runs.clear()  # the process's run cache starts empty, like datatrove's
    return signer


def _fresh_datatrove():
    from datatrove.pipeline.dedup import MinhashDedupSignature

    from finemill.steps.dedup.config import MinhashDedup

    signer = MinhashDedupSignature(
        output_folder="/tmp/finemill-minhash-unused", config=MinhashDedup().config()
    )
    _ = signer.word_tokenizer.tokenizer
    return signer


def speed(texts: Sequence[str], repeats: int) -> dict[str, float]:
    """CPU seconds of each way to sign `texts` (and the datasketch variants on the same shingles)."""
    from datasketch import MinHash
    from datasketch.hashfunc import sha1_hash64
    from datatrove.utils.text import simplify_text

    from finemill.steps.dedup.minhash import min_hashes
    from finemill.steps.dedup.minhash.hashing import ngram_strings, shingle_hashes

    reference = _fresh_finemill()
    shingle_lists = [shingles(reference, t) for t in texts]
    encoded = [[s.encode("utf-8") for s in doc] for doc in shingle_lists]
    config = reference.config
    a, b = reference.parameters

    def datasketch(kwargs):
        # The permutations are drawn once and reused (drawing them costs ~140 us per MinHash), as a fast
        # datasketch user would: only hashing, permutations and the min are timed per document.
        permutations = MinHash(num_perm=112, **kwargs).permutations

        def run(_):
            for doc in encoded:
                if doc:
                    MinHash(num_perm=112, permutations=permutations, **kwargs).update_batch(doc)

        return run

    def finemill_from_shingles(_):
        for doc in shingle_lists:
            if doc:
                min_hashes(shingle_hashes(doc, config.hash_config), a, b)

    def fineweb_shingling(signer):  # what datatrove does to get the shingles, before any hashing
        for text in texts:
            ngram_strings(signer.word_tokenizer.word_tokenize(simplify_text(text, config.norm_config)), 5)

    return {
        "finemill": best_cpu_seconds(_fresh_finemill, lambda s: _sign_all(s, texts), repeats),
        "datatrove": best_cpu_seconds(_fresh_datatrove, lambda s: _sign_all(s, texts), repeats),
        "finemill_shingles": best_cpu_seconds(lambda: None, finemill_from_shingles, repeats),
        "datasketch": best_cpu_seconds(lambda: None, datasketch({"scheme": "affine32"}), repeats),
        "datasketch_legacy64": best_cpu_seconds(
            lambda: None, datasketch({"scheme": "legacy", "hashfunc": sha1_hash64}), repeats
        ),
        "fineweb_shingling": best_cpu_seconds(_fresh_datatrove, fineweb_shingling, repeats),
    }


def print_speed(times: dict[str, float], n_docs: int, n_bytes: int) -> None:
    def rate(seconds: float) -> str:
        return f"{n_docs / seconds:8.0f} docs/s {n_bytes / seconds / 1e6:6.2f} MB/s ({seconds:.2f} s)"

    datasketch_end_to_end = times["fineweb_shingling"] + times["datasketch"]
    print(f"signature throughput, one core, {n_docs} documents, {n_bytes / 1e6:.2f} MB of text:")
    print(f"  finemill MinhashSignature, text -> signature        {rate(times['finemill'])}")
    print(f"  datatrove MinhashDedupSignature, text -> signature  {rate(times['datatrove'])}")
    print(f"  datasketch update_batch + FineWeb shingling         {rate(datasketch_end_to_end)}")
    print("  shingles given (hashing + permutations only):")
    print(f"    finemill (sha1-64, mod 2^61-1, FineWeb's values)  {rate(times['finemill_shingles'])}")
    print(f"    datasketch default (sha1-32, affine mod 2^32)     {rate(times['datasketch'])}")
    print(f"    datasketch legacy scheme, sha1-64 (mod 2^61-1)    {rate(times['datasketch_legacy64'])}")
    print(
        f"ratio vs datasketch: {datasketch_end_to_end / times['finemill']:.2f}"
        "   (text -> signature; datasketch fed FineWeb's shingles made as datatrove makes them)"
    )
    print(
        f"ratio vs datasketch, shingles given: {times['datasketch'] / times['finemill_shingles']:.2f} (default), "
        f"{times['datasketch_legacy64'] / times['finemill_shingles']:.2f} (legacy scheme, sha1-64)"
    )
    print(f"ratio vs datatrove: {times['datatrove'] / times['finemill']:.2f}")


def _pin_to_one_cpu() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    parser.add_argument("--docs", type=Path, default=DOCS)
    parser.add_argument("--plot", type=Path, default=PLOT)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-speed", action="store_true", help="only the quality part")
    args = parser.parse_args(argv)
    for path in (args.pairs, args.docs):
        if not path.is_file():
            sys.exit(f"data not found: {path}")
    _pin_to_one_cpu()

    pairs = load_pairs(args.pairs)
    results = evaluate_pairs(pairs)
    print_table(label_table(results))
    known = [r for r in results if not math.isnan(r.jaccard)]
    expected = float(detection_probability(np.array([r.jaccard for r in known])).sum())
    print(
        f"flagged {sum(r.flagged for r in results)} of {len(results)} pairs; the S-curve expects "
        f"{expected:.1f} from the pairs' Jaccard ({len(results) - len(known)} pairs without 5 words on a side)"
    )
    plot(results, args.plot)
    print(f"plot: {args.plot}")

    if not args.no_speed:
        texts = load_docs(args.docs) + [t for p in pairs for t in (p.src, p.target)]
        times = speed(texts, args.repeats)
        print_speed(times, len(texts), sum(len(t.encode("utf-8")) for t in texts))


if __name__ == "__main__":
    main()
