"""finemill's benchmarks, grouped by what they measure; not part of the installed package.

    speed/        how fast: throughput of the pipeline and its steps, training, tokenization, evaluation,
                  start-up, and the capacity plan built on them
    quality/      how good or how faithful: extraction scores, MinHash on judged pairs, agreement with the
                  datatrove reference and with lm-evaluation-harness, the real-data ablation
    data/         scripts that write the data files the package carries (FineWeb-2's per-language settings)
    common.py     where the repository and the shared real data are; how a benchmark starts a child of itself
    reference.py  datatrove's own FineWeb pipeline, which speed/ and quality/ compare finemill's recipe to

Run each from the repository root as a module, e.g. `python -m benchmarks.speed.pipeline --help`. That is
the one way: the scripts import shared code as `benchmarks.*`, which `python benchmarks/speed/pipeline.py`
would not find.
"""
