"""`finemill ablate` on the real crawl files of ../shared/data: FineWeb's recipe with and without its own
rules and with and without MinHash dedup, the tiny model on each, two seeds.

    python -m benchmarks.quality.ablate_real                  # writes ablations/real/, copies the plot to docs/
    python -m benchmarks.quality.ablate_real --tokens 300000 --seeds 0 1 2
    python -m benchmarks.quality.ablate_real --classifier classifier/demo.bin --seeds 0 1 2 --out ablations/real-classifier

With --classifier, the variants are issue #23's: FineWeb, FineWeb + the classifier (quality_fasttext keeping
the top half, configs/fineweb-classifier.yaml), and no quality filtering (the URL blocklist, extraction and
language only).

The inputs are every WARC file of shared/data/crawl/ and shared/data/extraction/ (real pages of Common
Crawl, Heritrix, wget and two extraction benchmarks: about 1,500 pages read). Most are not English, so the
held-out texts are taken after the language step (10% of URLs), to measure bits per byte on the language
the models learn. The ablation file it runs is
written beside the output (OUT/ablation-real.yaml), so the run can be repeated with `finemill ablate`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from benchmarks.common import REPO, SHARED_DATA

INPUTS = ["crawl/*.warc.gz", "extraction/*.warc.gz"]


DEFAULT_VARIANTS = {
    "base": "fineweb.yaml",
    "variants": {
        "fineweb": {},
        "no_fineweb_rules": {"remove": ["fineweb_quality"]},
        "no_dedup": {"remove": ["minhash"]},
    },
}
QUALITY_STEPS = [
    "gopher_repetition",
    "gopher_quality",
    "c4_quality",
    "fineweb_quality",
    "quality_fasttext",
    "minhash",
]


def classifier_variants(model: str) -> dict:
    """FineWeb, FineWeb + the classifier, and no quality filtering (as configs/ablate-classifier.yaml)."""
    return {
        "base": "fineweb-classifier.yaml",
        "variants": {
            "fineweb": {"remove": ["quality_fasttext"]},
            "fineweb_classifier": {"set": {"quality_fasttext.model": str(Path(model).resolve())}},
            "no_quality": {"remove": QUALITY_STEPS},
        },
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(REPO / "ablations" / "real"))
    p.add_argument(
        "--tokens",
        type=int,
        default=120_000,
        help="token budget per run (default 120,000: under one epoch of every variant)",
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--limit", type=int, default=200, help="items per benchmark task (default 200)")
    p.add_argument(
        "--parallel", type=int, default=1, help="training runs at a time (finemill ablate --parallel)"
    )
    p.add_argument("--plot", help="where to copy the plot (default docs/ablation-real[-classifier].png)")
    p.add_argument(
        "--classifier", help="a fastText quality model: FineWeb vs + classifier vs no quality filters"
    )
    args = p.parse_args(argv)
    if not SHARED_DATA.is_dir():
        print(f"no shared data at {SHARED_DATA}: nothing to run", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    spec = out / "ablation-real.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                **(classifier_variants(args.classifier) if args.classifier else DEFAULT_VARIANTS),
                "train": "train-tiny.yaml",
                "tokens": args.tokens,
                "seeds": args.seeds,
                "vocab_size": 4096,
                "eval": {
                    "tasks": ["hellaswag", "arc_easy", "piqa"],
                    "limit": args.limit,
                    "heldout_fraction": 0.1,
                    "heldout_after": "language",
                    "curve_points": 5,
                },
            },
            sort_keys=False,
        )
    )
    command = [
        sys.executable,
        "-m",
        "finemill.cli",
        "ablate",
        str(spec),
        "--out",
        str(out),
        "--parallel",
        str(args.parallel),
    ]
    for pattern in INPUTS:
        command += ["--input", str(SHARED_DATA / pattern)]
    done = subprocess.run(command)
    if done.returncode:
        return done.returncode
    args.plot = args.plot or str(
        REPO / "docs" / f"ablation-real{'-classifier' if args.classifier else ''}.png"
    )
    Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "ablation.png", args.plot)
    print(f"plot copied to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
