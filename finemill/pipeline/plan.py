"""From a recipe to datatrove pipelines: the stages of a run.

Without MinHash a run is one stage. With it, the run splits where FineWeb's did:

    1 filter    read -> url_filter -> extract -> ... -> fineweb_quality -> work/filtered + signatures
    2 buckets   signatures -> matching pairs, one task per bucket
    3 clusters  pairs -> ids to remove (one task)
    4 finalize  work/filtered -> drop duplicates -> pii -> documents/

Stage 4 reads back exactly the file stage 1 wrote for the same rank, in the same order, because
MinHash's remove-lists index documents by their position in that rank's stream.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup import MinhashDedupCluster
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets
from datatrove.pipeline.readers import JsonlReader

from finemill import run_folder, storage
from finemill.errors import FinemillError
from finemill.pipeline.inputs import Inputs
from finemill.pipeline.recipe import Recipe, StepSpec
from finemill.pipeline.registry import EXTRACT_STEPS, STEPS, custom_step
from finemill.steps.dedup.config import MinhashDedup
from finemill.steps.dedup.duplicate_filter import MinhashDuplicateFilter
from finemill.steps.dedup.minhash import MinhashSignature
from finemill.steps.dedup.minhash.signature import LanguageMinhashSignature, by_language_config
from finemill.steps.read.text import TextJsonlReader, TextParquetReader
from finemill.steps.read.warc import CrawlReader
from finemill.steps.write.intermediate import FilteredJsonlWriter
from finemill.steps.write.parquet import DocumentWriter, RemovedWriter

# Steps whose time belongs to the minhash step but whose counters do not (signatures, buckets, clusters).
MINHASH_TIME = "minhash:time"
# The signature step times its whole loop, which includes pulling documents through every step before it.
MINHASH_SIGNATURE = "minhash:signature"
MINHASH_CLUSTERS = "minhash:clusters"  # its counters (clusters, cluster sizes) belong to the minhash step
WRITER = "documents"  # the writer of OUT/documents: its counters give the final characters
TEXT_INPUTS = "inputs are text, already extracted"  # why a run on text inputs has no extraction step


# The reason for steps that drop documents without naming one.
DEFAULT_REASONS = {"minhash": "duplicate"}


@dataclass
class Stage:
    """One datatrove pipeline with its task count, and the recipe step name of each of its steps (None for
    plumbing: readers of intermediate files, writers)."""

    name: str
    pipeline: list[PipelineStep]
    step_names: list[str | None]
    tasks: int


class RankFileReader(JsonlReader):
    """Reads only `<rank>.jsonl.gz`: the file stage 1 wrote for this same rank (or nothing)."""

    name = "🔁 Filtered docs"

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        filename = f"{rank:05d}.jsonl.gz"
        if self.data_folder.exists(filename):
            yield from self.read_files_shard([filename])


def planned_steps(recipe: Recipe, inputs: Inputs) -> tuple[list[StepSpec], dict[str, str]]:
    """The recipe's steps that run on these inputs, and those that do not with the reason: text inputs skip
    extraction (their text is extracted already)."""
    if inputs.kind != "text":
        return recipe.steps, {}
    skipped = {s.name: TEXT_INPUTS for s in recipe.steps if s.name in EXTRACT_STEPS}
    return [s for s in recipe.steps if s.name not in skipped], skipped


def plan_stages(recipe: Recipe, files: list[str] | Inputs, out: Path, progress: bool = False) -> list[Stage]:
    """The stages that run `recipe` over `files` (a plain list: crawl files), writing under `out`."""
    inputs = files if isinstance(files, Inputs) else Inputs(files={"crawl": list(files)})
    tasks = max(1, len(inputs.all_files))
    readers = _readers(recipe, inputs, out, progress)
    steps, _ = planned_steps(recipe, inputs)
    split = next((i for i, s in enumerate(steps) if s.name == "minhash"), None)
    if split is None:
        head = [_build_step(s, out) for s in steps]
        return [
            Stage(
                "filter",
                [*readers, *head, document_writer(recipe, out)],
                [*["reader"] * len(readers), *[s.name for s in steps], WRITER],
                tasks,
            )
        ]
    writer = document_writer(recipe, out)
    return _minhash_stages(readers, steps[:split], steps[split], steps[split + 1 :], out, tasks, writer)


def _minhash_stages(
    readers: list[PipelineStep],
    before: list[StepSpec],
    minhash_spec: StepSpec,
    after: list[StepSpec],
    out: Path,
    tasks: int,
    writer: DocumentWriter,
) -> list[Stage]:
    """filter (up to the signatures), buckets, clusters, finalize (drop duplicates, the steps after)."""
    settings = MinhashDedup(**minhash_spec.params)
    config = settings.config()
    # per language: the signature records (and so the buckets stage) carry the language key first
    signature_step = LanguageMinhashSignature if settings.by_language else MinhashSignature
    bucket_config = by_language_config(config) if settings.by_language else config
    filtered = _inside(out, run_folder.filtered(out))
    signatures, buckets, remove_ids = (
        _inside(out, run_folder.minhash(out, part)) for part in run_folder.MINHASH_PARTS
    )
    filter_stage = Stage(
        "filter",
        [
            *readers,
            *[_build_step(s, out) for s in before],
            FilteredJsonlWriter(filtered, output_filename="${rank}.jsonl.gz"),  # gzip level 1
            # datatrove's MinhashDedupSignature, same files, faster (finemill.steps.dedup.minhash)
            signature_step(output_folder=signatures, config=config),
        ],
        [*["reader"] * len(readers), *[s.name for s in before], None, MINHASH_SIGNATURE],
        tasks,
    )
    return [
        filter_stage,
        *_dedup_stages(bucket_config, signatures, buckets, remove_ids),
        Stage(
            "finalize",
            [
                RankFileReader(filtered),
                MinhashDuplicateFilter(
                    input_folder=remove_ids,
                    exclusion_writer=_removed_writer("minhash", out),
                    load_cluster_ids=True,
                    load_cluster_sizes=True,
                ),
                *[_build_step(s, out) for s in after],
                writer,
            ],
            [None, "minhash", *[s.name for s in after], WRITER],
            tasks,
        ),
    ]


def _dedup_stages(config: MinhashConfig, signatures: str, buckets: str, remove_ids: str) -> list[Stage]:
    """Signatures -> matching pairs (one task per bucket) -> the ids to remove (one task)."""
    return [
        Stage(
            "buckets",
            [MinhashDedupBuckets(input_folder=signatures, output_folder=buckets, config=config)],
            [MINHASH_TIME],
            config.num_buckets,
        ),
        # Cluster ids and sizes go with each removed duplicate, so `finemill inspect` can show its cluster.
        Stage(
            "clusters",
            [
                MinhashDedupCluster(
                    input_folder=buckets,
                    output_folder=remove_ids,
                    config=config,
                    save_cluster_id=True,
                    save_cluster_size=True,
                )
            ],
            [MINHASH_CLUSTERS],
            1,
        ),
    ]


def keeps_languages(recipe: Recipe) -> bool:
    """Whether the recipe keeps more than one language (its language step keeps every language, or a list
    of several): its kept documents are then written per language, `documents/<language>/`."""
    step = next((s for s in recipe.steps if s.name == "language"), None)
    if step is None:
        return False
    languages = step.params.get("languages", ("en",))
    return languages is None or len(languages) > 1


def document_writer(recipe: Recipe, out: Path) -> DocumentWriter:
    """The writer of OUT/documents: per language for a multilingual recipe, with the score columns of the
    recipe's classifier steps."""
    names = {s.name for s in recipe.steps}
    columns = [c for step, cs in SCORE_COLUMNS.items() if step in names for c in cs]
    return DocumentWriter(
        _inside(out, run_folder.documents(out)),
        by_language=keeps_languages(recipe),
        score_columns=tuple(dict.fromkeys(columns)),
    )


# The reader of each kind of input (finemill.pipeline.inputs).
READERS = {"crawl": CrawlReader, "jsonl": TextJsonlReader, "parquet": TextParquetReader}


def _readers(recipe: Recipe, inputs: Inputs, out: Path, progress: bool) -> list[PipelineStep]:
    """One reader per kind of input (crawl files alone, or JSONL and parquet text files). Each task reads
    its share of every reader's files: datatrove readers pass on the documents of the reader before."""
    kinds = [kind for kind in READERS if inputs.files.get(kind)] or ["crawl"]
    return [
        _reader(
            READERS[kind], recipe, inputs.files.get(kind, []), run_folder.input_list(out, kind), out, progress
        )
        for kind in kinds
    ]


def _reader(cls: type, recipe: Recipe, files: list[str], paths_list: Path, out: Path, progress: bool):
    """A reader over exactly `files`: a paths file relative to their common folder, one file per task."""
    root = _common_folder(files)
    paths_file = run_folder.beneath(out, paths_list)
    paths_file.parent.mkdir(parents=True, exist_ok=True)
    paths_file.write_text("".join(os.path.relpath(f, root) + "\n" for f in files), encoding="utf-8")
    return cls(
        root,
        paths_file=str(paths_file),
        limit=recipe.input.limit,
        default_metadata={"dump": recipe.dump},
        dump_from_input=recipe.dump_from_input,
        doc_progress=progress,
    )


def _common_folder(files: list[str]) -> str:
    """The folder all `files` are in: a local path, or a URL when they are on object storage."""
    if not files:
        return "."
    remote = {storage.protocol(f) for f in files}
    if len(remote) > 1:
        raise FinemillError(
            "the inputs mix local files and object storage (or two kinds of it): run them apart"
        )
    scheme = remote.pop()
    if scheme is None:
        return os.path.commonpath([os.path.dirname(f) for f in files])
    keys = [f.split("://", 1)[1] for f in files]
    return f"{scheme}://" + posixpath.commonpath([posixpath.dirname(k) for k in keys])


def _build_step(spec: StepSpec, out: Path) -> PipelineStep:
    entry = custom_step(spec.cls, spec.name) if spec.cls else STEPS[spec.name]
    cls: Callable = entry.load()
    if entry.removes:
        return cls(**spec.params, exclusion_writer=_removed_writer(spec.name, out))
    return cls(**spec.params)


# The score columns each quality classifier step writes into documents/ (FineWeb-Edu's names).
SCORE_COLUMNS = {"quality_fasttext": ("quality_score",), "quality_hf": ("quality_score", "int_score")}


def _removed_writer(step: str, out: Path) -> RemovedWriter:
    return RemovedWriter(
        _inside(out, run_folder.removed(out, step)),
        step=step,
        default_reason=DEFAULT_REASONS.get(step, "removed"),
    )


def _inside(out: Path, folder: Path) -> str:
    """A writer's folder, as datatrove takes it, once checked to lie inside OUT."""
    return str(run_folder.beneath(out, folder))
