"""datatrove's own FineWeb pipeline, the reference finemill's recipe is compared to; how to run both sides.

The reference is datatrove's FineWeb example (examples/fineweb.py) run locally: WarcReader, URLFilter,
Trafilatura, LanguageFilter, Gopher, C4, FineWebQualityFilter, the four MinHash stages and PIIFormatter,
configured with the recipe's parameters where datatrove's classes take them. Only what cannot run offline
is touched: the language model is loaded from the local file and tldextract uses its bundled suffix list.
quality/fidelity.py compares the two sides' kept documents; speed/pipeline.py and speed/capacity.py time them.

PII placeholders are compared as equal: datatrove cycles its placeholder addresses across documents (so its
choice depends on document order), finemill per document.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported where outputs are read: the pipeline processes do without it
    import pandas as pd

EMAIL_PLACEHOLDERS = re.compile(r"email@example\.com|firstname\.lastname@example\.org")
IP_PLACEHOLDERS = re.compile(
    r"22\.214\.171\.124|126\.96\.36\.199|188\.8\.131\.52|184\.108\.40\.206|"
    r"220\.127\.116\.11|18\.104\.22\.168"
)


def reference_stages(recipe, files: list[str], out: Path) -> list:
    """datatrove's FineWeb example pipeline, local executors, one worker."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
    from datatrove.pipeline.dedup.minhash import MinhashDedupBuckets
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        LanguageFilter,
        URLFilter,
    )
    from datatrove.pipeline.formatters import PIIFormatter
    from datatrove.pipeline.readers import JsonlReader, WarcReader
    from datatrove.pipeline.writers import JsonlWriter
    from tldextract import TLDExtract

    from finemill.steps.dedup.config import MinhashDedup
    from finemill.steps.filters.language import find_lid_model

    params = {s.name: s.params for s in recipe.steps}
    url_filter = URLFilter()
    url_filter.tldextractor = TLDExtract(suffix_list_urls=())  # offline: bundled public-suffix list
    language = LanguageFilter(
        languages=params["language"].get("languages", ["en"]),
        language_threshold=params["language"].get("threshold", 0.65),
    )
    stage_model_in_datatrove_cache(find_lid_model(params["language"].get("model")))  # offline: local file
    extract = params.get("extract", {})
    config = MinhashDedup(**params["minhash"]).config()
    out.mkdir(parents=True, exist_ok=True)
    paths_file = out / "inputs.txt"
    paths_file.write_text("".join(f.lstrip("/") + "\n" for f in files))
    filtered, minhash = out / "filtered", out / "minhash"
    stage1 = [
        WarcReader("/", paths_file=str(paths_file)),
        url_filter,
        Trafilatura(
            favour_precision=extract.get("favour_precision", True), timeout=extract.get("timeout", 1.0)
        ),
        language,
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        C4QualityFilter(filter_no_terminal_punct=False),
        FineWebQualityFilter(),
        JsonlWriter(str(filtered)),
        MinhashDedupSignature(output_folder=str(minhash / "signatures"), config=config),
    ]
    stage4 = [
        JsonlReader(str(filtered)),
        MinhashDedupFilter(input_folder=str(minhash / "remove_ids")),
        PIIFormatter(),
        JsonlWriter(str(out / "output")),
    ]
    return [
        LocalPipelineExecutor(stage1, tasks=1, logging_dir=str(out / "logs1")),
        LocalPipelineExecutor(
            [
                MinhashDedupBuckets(
                    input_folder=str(minhash / "signatures"),
                    output_folder=str(minhash / "buckets"),
                    config=config,
                )
            ],
            tasks=config.num_buckets,
            workers=1,
            logging_dir=str(out / "logs2"),
        ),
        LocalPipelineExecutor(
            [
                MinhashDedupCluster(
                    input_folder=str(minhash / "buckets"),
                    output_folder=str(minhash / "remove_ids"),
                    config=config,
                )
            ],
            tasks=1,
            logging_dir=str(out / "logs3"),
        ),
        LocalPipelineExecutor(stage4, tasks=1, logging_dir=str(out / "logs4")),
    ]


def stage_model_in_datatrove_cache(model_path: str) -> None:
    """Put the local lid.176 file where datatrove's FT176LID looks for its download, as a user who had
    downloaded it once would have it (datatrove then loads it without network)."""
    import shutil

    from datatrove.io import strip_protocol
    from datatrove.utils.lid import FT176LID
    from huggingface_hub import cached_assets_path

    # the same path datatrove.io.cached_asset_path_or_download computes for the model URL
    folder = cached_assets_path(library_name="datatrove", namespace="lid", subfolder=FT176LID.MODEL_SUBFOLDER)
    target = Path(folder) / strip_protocol(FT176LID.MODEL_URL).replace("/", "_")
    if not Path(f"{target}.completed").exists():
        shutil.copyfile(model_path, target)
        Path(f"{target}.completed").touch()


def readable_by_datatrove(files: list[str]) -> tuple[list[str], list[str]]:
    """Split files into those datatrove's WarcReader reads to the end and those it crashes on (a clipped
    record, say): the reference can only be compared on the first."""
    from datatrove.pipeline.readers import WarcReader

    readable, unreadable = [], []
    for path in files:
        try:
            for _ in WarcReader(str(Path(path).parent), glob_pattern=Path(path).name).run():
                pass
            readable.append(path)
        except Exception:
            unreadable.append(path)
    return readable, unreadable


def run_reference(recipe, files: list[str], out: Path) -> pd.DataFrame:
    execute_reference(recipe, files, out)
    return reference_kept(out)


def execute_reference(recipe, files: list[str], out: Path) -> None:
    stages = fineweb2_reference_stages if recipe.name == "fineweb2" else reference_stages
    for executor in stages(recipe, files, out):
        executor.run()


def reference_kept(out: Path) -> pd.DataFrame:
    """URL and text of the documents a finished reference run in `out` kept."""
    import pandas as pd

    frames = [pd.read_json(f, lines=True) for f in sorted((out / "output").glob("**/*.jsonl.gz"))]
    if not frames:
        return pd.DataFrame({"url": [], "text": []})
    kept = pd.concat(frames)
    return pd.DataFrame({"url": kept["metadata"].map(lambda m: m["url"]), "text": kept["text"]})


def run_finemill(recipe, files: list[str], out: Path) -> pd.DataFrame:
    execute_finemill(recipe, files, out)
    return finemill_kept(out)


def execute_finemill(recipe, files: list[str], out: Path) -> dict:
    """finemill's run of `recipe` on `files` into `out`, one worker; returns its stats.json."""
    from finemill.pipeline.run import run_recipe

    recipe.input.paths, recipe.output, recipe.workers = files, str(out), 1
    return run_recipe(recipe, progress=False)


def finemill_kept(out: Path) -> pd.DataFrame:
    """URL and text of the documents a finished finemill run in `out` kept."""
    import pandas as pd

    documents = out / "documents"
    if not any(documents.glob("**/*.parquet")):  # fineweb2: documents/<language>/
        return pd.DataFrame({"url": [], "text": []})
    return pd.read_parquet(documents, columns=["url", "text"])


def identical_share(ours: pd.DataFrame, reference: pd.DataFrame) -> tuple[int, int, float]:
    """(identical, kept by either side, share). A document is identical when URL and text match."""

    def keyed(frame: pd.DataFrame) -> set[tuple[str, str]]:
        texts = frame["text"].map(lambda t: IP_PLACEHOLDERS.sub("<IP>", EMAIL_PLACEHOLDERS.sub("<EMAIL>", t)))
        return set(zip(frame["url"], texts, strict=True))

    a, b = keyed(ours), keyed(reference)
    union_urls = set(ours["url"]) | set(reference["url"])
    same = len(a & b)
    return same, len(union_urls), (same / len(union_urls) if union_urls else 1.0)


def fineweb2_reference_stages(recipe, files: list[str], out: Path):
    """FineWeb-2's pipeline (fineweb-2-pipeline.py) from datatrove's classes, run locally on one worker: the
    FineWeb start (URL filter, trafilatura) and lid.176 over every language, then for each language found
    its own MinHash (signatures with the language's word tokenizer) and its filters with FineWeb-2's values
    for it, then PII. Yields each stage's executor when it is to run: a language's stages are built once the
    first stage has written the language's documents. A language whose datatrove tokenizer does not run
    offline gets datatrove's WhitespaceTokenizer, finemill's fallback."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import LanguageFilter, URLFilter
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import JsonlWriter
    from tldextract import TLDExtract

    from finemill.steps.dedup.config import MinhashDedup
    from finemill.steps.filters.language import find_lid_model

    params = {s.name: s.params for s in recipe.steps}
    url_filter = URLFilter()
    url_filter.tldextractor = TLDExtract(suffix_list_urls=())  # offline: bundled public-suffix list
    stage_model_in_datatrove_cache(find_lid_model(params["language"].get("model")))
    extract = params.get("extract", {})
    out.mkdir(parents=True, exist_ok=True)
    paths_file = out / "inputs.txt"
    paths_file.write_text("".join(f.lstrip("/") + "\n" for f in files))
    by_language = out / "by_language"
    yield LocalPipelineExecutor(
        [
            WarcReader("/", paths_file=str(paths_file)),
            url_filter,
            Trafilatura(
                favour_precision=extract.get("favour_precision", True), timeout=extract.get("timeout", 1.0)
            ),
            LanguageFilter(languages=None, language_threshold=params["language"].get("threshold", 0.65)),
            JsonlWriter(str(by_language), output_filename="${language}/${rank}.jsonl.gz"),
        ],
        tasks=1,
        logging_dir=str(out / "logs1"),
    )
    config = MinhashDedup(**{k: v for k, v in params["minhash"].items() if k != "by_language"}).config()
    for folder in sorted(p for p in by_language.iterdir() if p.is_dir()):
        yield from _fineweb2_language_stages(folder.name, folder, config, out)


def _fineweb2_language_stages(language: str, folder: Path, config, out: Path) -> list:
    """One language's four MinHash stages, its filters as fineweb-2-pipeline.py builds them, and PII."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
    from datatrove.pipeline.dedup.minhash import MinhashDedupBuckets
    from datatrove.pipeline.formatters import PIIFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.word_tokenizers import WhitespaceTokenizer, load_word_tokenizer

    from benchmarks.quality.fidelity_languages import datatrove_filters
    from finemill.steps.filters.languages import fineweb2_name

    try:
        words = load_word_tokenizer(fineweb2_name(language))
        words.word_tokenize("probe")
    except Exception:  # not assigned, or its package is not installed
        words = WhitespaceTokenizer()
    filters = datatrove_filters(language, words)
    minhash = out / "minhash" / language
    logs = f"logs2-{language}"
    return [
        LocalPipelineExecutor(
            [
                JsonlReader(str(folder)),
                MinhashDedupSignature(str(minhash / "sigs"), config=config, language=words),
            ],
            tasks=1,
            logging_dir=str(out / f"{logs}-1"),
        ),
        LocalPipelineExecutor(
            [MinhashDedupBuckets(str(minhash / "sigs"), str(minhash / "buckets"), config=config)],
            tasks=config.num_buckets,
            logging_dir=str(out / f"{logs}-2"),
        ),
        LocalPipelineExecutor(
            [MinhashDedupCluster(str(minhash / "buckets"), str(minhash / "remove_ids"), config=config)],
            tasks=1,
            logging_dir=str(out / f"{logs}-3"),
        ),
        LocalPipelineExecutor(
            [
                JsonlReader(str(folder)),
                MinhashDedupFilter(input_folder=str(minhash / "remove_ids")),
                filters["gopher_repetition"],
                filters["fineweb_quality"],
                filters["gopher_quality"],
                PIIFormatter(),
                JsonlWriter(str(out / "output" / language)),
            ],
            tasks=1,
            logging_dir=str(out / f"{logs}-4"),
        ),
    ]
