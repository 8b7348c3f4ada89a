"""The quality_fasttext step against datatrove's FastTextClassifierFilter, same model, same documents.

    python -m benchmarks.speed.quality_fasttext                      # 697 real documents, model trained here
    python -m benchmarks.speed.quality_fasttext --model M.bin        # your model (its card's normalisation)
    python -m benchmarks.speed.quality_fasttext --input out/run/documents --repeat 5

Without --model it trains one on the real documents themselves (long against short pages; DCLM's settings
but --dim/--bucket small), so the timing sees a real vocabulary. Each side decides every document --repeat
times in this one process: finemill's step on the raw text (normalising it itself, as in a run), datatrove's
class on text normalised beforehand (datatrove has no normalisation; the time to normalise is printed apart
and added to its side). It prints documents/s per core from the process's CPU time (the wall time on a
shared machine counts other processes' time too) and wall time, the ratio, and whether every decision is
equal.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.common import SHARED_DATA
from benchmarks.speed.filters import load_texts

DEFAULT_INPUT = SHARED_DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"


def train_model(texts: list[str], folder: Path, dim: int, bucket: int) -> str:
    from finemill.classify.train import TrainSettings, train_classifier

    ordered = sorted(texts, key=len)
    half = len(ordered) // 3
    for name, part in (("long", ordered[-half:]), ("short", ordered[:half])):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in part))
    path = folder / "model.bin"
    train_classifier(
        [str(folder / "long.jsonl")],
        [str(folder / "short.jsonl")],
        path,
        TrainSettings(dim=dim, bucket=bucket),
    )
    return str(path)


def timed(function, repeat: int) -> tuple[list, float, float]:
    """The last pass's results, CPU seconds and wall seconds per pass (the best of `repeat`)."""
    best_cpu = best_wall = float("inf")
    results: list = []
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        results = function()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return results, best_cpu, best_wall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT, help="JSONL.gz or a folder of parquet")
    parser.add_argument("--model", help="fastText model (default: one trained here on the input)")
    parser.add_argument("--dim", type=int, default=64, help="vector size of the model trained here")
    parser.add_argument(
        "--bucket", type=int, default=200_000, help="n-gram buckets of the model trained here"
    )
    parser.add_argument("--repeat", type=int, default=3, help="passes per side; the best is kept")
    args = parser.parse_args()

    from datatrove.data import Document
    from datatrove.pipeline.filters.fasttext_filter import FastTextClassifierFilter

    from finemill.steps.filters.quality_fasttext import QualityFastTextFilter
    from finemill.text.classifier_text import normalise

    texts = [t for t in load_texts(args.input) if t]
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or train_model(texts, Path(tmp), args.dim, args.bucket)
        ours = QualityFastTextFilter(model, threshold=0.5)
        theirs = FastTextClassifierFilter(model, keep_labels=("hq", 0.5), newline_replacement=" ")
        theirs._model = ours.model  # the same loaded model, without datatrove's copy into its cache
        dclm = ours.normalisation == "dclm"
        prepared, norm_cpu, norm_wall = timed(
            lambda: [normalise(t) for t in texts] if dclm else texts, args.repeat
        )
        kept, cpu, wall = timed(
            lambda: [ours.filter(Document(text=t, id="")) is True for t in texts], args.repeat
        )
        expected, dt_cpu, dt_wall = timed(
            lambda: [theirs.filter(Document(text=t, id="")) for t in prepared], args.repeat
        )
    n = len(texts)
    mean_chars = sum(map(len, texts)) / n
    print(f"{n} documents ({mean_chars:,.0f} characters on average), normalisation: {ours.normalisation}")
    print(f"finemill quality_fasttext: {n / cpu:8,.0f} docs/s per core (CPU time), {n / wall:8,.0f} wall")
    dt_cpu_all, dt_wall_all = dt_cpu + (norm_cpu if dclm else 0), dt_wall + (norm_wall if dclm else 0)
    print(
        f"datatrove FastTextClassifierFilter: {n / dt_cpu_all:8,.0f} docs/s per core, {n / dt_wall_all:8,.0f} wall"
        + (f" (normalising: {n / norm_cpu:,.0f} docs/s per core)" if dclm else "")
    )
    print(f"ratio: {dt_cpu_all / cpu:.2f} (CPU), {dt_wall_all / wall:.2f} (wall)")
    print(f"identical decisions: {sum(a == b for a, b in zip(kept, expected, strict=True))}/{n}")


if __name__ == "__main__":
    main()
