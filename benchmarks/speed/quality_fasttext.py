"""The quality_fasttext step against datatrove's FastTextClassifierFilter, same model, same documents.

    python -m benchmarks.speed.quality_fasttext                      # 697 real documents, model trained here
    python -m benchmarks.speed.quality_fasttext --model M.bin        # your model (its card's normalisation)
    python -m benchmarks.speed.quality_fasttext --input out/run/documents --repeat 5

Without --model it trains one on the real documents themselves (long against short pages; DCLM's settings
but --dim/--bucket small), so the timing sees a real vocabulary. Each side decides every document --repeat
times in this one process, the sides taking turns pass by pass: finemill's step on the raw text (normalising
it itself, as in a run), datatrove's class on text normalised beforehand (datatrove has no normalisation;
the time to normalise is printed apart and added to its side). It prints documents/s per core from the process's CPU time (the wall time on a
shared machine counts other processes' time too) and wall time, the ratio, and whether every decision is
equal. Where the time goes: fastText's own predict alone on the prepared lines, and the numpy
re-implementation of `benchmarks.fasttext_numpy` (an experiment: its documents/s and whether its scores
equal fastText's bit for bit).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
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


def timed(sides: dict[str, Callable[[], list]], repeat: int) -> dict[str, tuple[list, float, float]]:
    """Each side's last results, and its CPU and wall seconds per pass (the best of `repeat`). The sides take
    turns pass by pass, so a change of load on a shared machine weighs on all of them alike."""
    best = {name: ([], float("inf"), float("inf")) for name in sides}
    for _ in range(repeat):
        for name, function in sides.items():
            cpu, wall = time.process_time(), time.perf_counter()
            results = function()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            best[name] = (results, min(best[name][1], cpu), min(best[name][2], wall))
    return best


def fasttext_score(step, line: str) -> float:
    """fastText's own probability of the step's label for a prepared line (k=-1, as datatrove asks)."""
    return dict((label, p) for p, label in step.model.f.predict(line, -1, 0.0, "strict"))[step.label]


def sides(ours, theirs, texts: list[str]) -> dict[str, Callable[[], list]]:
    """What is timed: the step on raw text; datatrove's filter on text normalised beforehand and that
    normalisation apart; fastText's predict alone on prepared lines; the numpy experiment, where it applies."""
    from datatrove.data import Document

    from benchmarks.fasttext_numpy import SupervisedPredictor, chunk_tokens, numpy_scores
    from finemill.text.classifier_text import normalise, one_line

    dclm = ours.normalisation == "dclm"
    prepared = [normalise(t) for t in texts] if dclm else texts
    lines = [one_line(t, ours.normalisation) + "\n" for t in texts]
    timed_sides = {
        "step": lambda: [ours.filter(Document(text=t, id="")) is True for t in texts],
        "normalise": lambda: [normalise(t) for t in texts] if dclm else [],
        "datatrove": lambda: [theirs.filter(Document(text=t, id="")) for t in prepared],
        "predict": lambda: [fasttext_score(ours, line) for line in lines],
    }
    predictor = SupervisedPredictor.for_model(ours.model, chunk_tokens(ours.normalisation))
    if predictor is not None:
        timed_sides["numpy"] = lambda: numpy_scores(predictor, texts, ours.normalisation, ours.label)
    return timed_sides


def report(texts: list[str], normalisation: str, times: dict[str, tuple[list, float, float]]) -> None:
    n, dclm = len(texts), normalisation == "dclm"
    (kept, cpu, wall), (expected, dt_cpu, dt_wall) = times["step"], times["datatrove"]
    _, norm_cpu, norm_wall = times["normalise"]
    print(
        f"{n} documents ({sum(map(len, texts)) / n:,.0f} characters on average), normalisation: {normalisation}"
    )
    print(f"finemill quality_fasttext: {n / cpu:8,.0f} docs/s per core (CPU time), {n / wall:8,.0f} wall")
    dt_cpu_all, dt_wall_all = dt_cpu + (norm_cpu if dclm else 0), dt_wall + (norm_wall if dclm else 0)
    print(
        f"datatrove FastTextClassifierFilter: {n / dt_cpu_all:8,.0f} docs/s per core, {n / dt_wall_all:8,.0f} wall"
        + (f" (normalising: {n / norm_cpu:,.0f} docs/s per core)" if dclm else "")
    )
    print(f"ratio: {dt_cpu_all / cpu:.2f} (CPU), {dt_wall_all / wall:.2f} (wall)")
    print(f"identical decisions: {sum(a == b for a, b in zip(kept, expected, strict=True))}/{n}")
    reference, predict_cpu, _ = times["predict"]
    print(f"fastText's predict alone (text prepared beforehand): {n / predict_cpu:8,.0f} docs/s per core")
    if "numpy" in times:
        scores, numpy_cpu, _ = times["numpy"]
        same = sum(a == b for a, b in zip(scores, reference, strict=True))
        print(
            f"numpy re-implementation (experiment, batches of 256): {n / numpy_cpu:8,.0f} docs/s per core, "
            f"ratio to the step {cpu / numpy_cpu:.2f}, scores equal to fastText's bit for bit: {same}/{n}"
        )


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

    from datatrove.pipeline.filters.fasttext_filter import FastTextClassifierFilter

    from finemill.steps.filters.quality_fasttext import QualityFastTextFilter

    texts = [t for t in load_texts(args.input) if t]
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or train_model(texts, Path(tmp), args.dim, args.bucket)
        ours = QualityFastTextFilter(model, threshold=0.5)
        theirs = FastTextClassifierFilter(model, keep_labels=("hq", 0.5), newline_replacement=" ")
        theirs._model = ours.model  # the same loaded model, without datatrove's copy into its cache
        times = timed(sides(ours, theirs, texts), args.repeat)
    report(texts, ours.normalisation, times)


if __name__ == "__main__":
    main()
