"""An ablation's data: the shared steps once, each variant's own steps, the held-out texts, one tokenizer,
each variant's token shards. Every part resumes: runs through `finemill run`'s completion markers, the
tokenizer by its settings, the shards through `finemill tokenize`'s manifest."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from finemill import run_folder
from finemill.ablate.heldout import STEP as HOLDOUT_STEP
from finemill.ablate.spec import AblationSpec
from finemill.ablate.variants import AblationPlan, ResolvedVariant
from finemill.errors import FinemillError
from finemill.pipeline.recipe import InputSpec

Log = Callable[[str], None]


@dataclass
class VariantData:
    name: str
    folder: Path  # its run folder
    documents: int = 0  # kept
    chars: int = 0
    train_tokens: int = 0
    error: str | None = None  # why it cannot be trained (no documents), reported instead of crashing

    @property
    def tokens_dir(self) -> Path:
        return run_folder.tokens(self.folder)


@dataclass
class HeldOut:
    texts: int
    bytes: int
    source: str  # in words, for the report


def run_variants(
    plan: AblationPlan, out: Path, progress: bool, log: Log
) -> tuple[list[VariantData], Path | None]:
    """Run the shared steps (once) and every variant's own steps; returns each variant's counts and the shared
    run folder (None when nothing is shared)."""
    from finemill.pipeline.run import run_recipe

    shared = None
    source_paths: list[str] | None = None
    if plan.shared_steps:
        shared = run_folder.beneath(out, run_folder.ablation_shared(out, plan.shared_key))
        first = plan.reference.recipe
        names = ", ".join(s.name for s in plan.shared_steps)
        log(f"shared steps ({names}): once for all variants, in {shared.relative_to(out)}")
        stats = run_recipe(replace(first, steps=plan.shared_steps, output=str(shared)), progress=progress)
        kept = stats["documents"]["count"]
        log(f"  {kept:,} documents go on to the variants")
        if not kept:
            return [
                VariantData(
                    v.name,
                    run_folder.ablation_variant(out, v.name),
                    error="the shared steps kept no documents",
                )
                for v in plan.variants
            ], shared
        source_paths = [str(run_folder.documents(shared))]
    results = []
    for variant in plan.variants:
        results.append(_run_variant(variant, out, source_paths, progress, log))
    return results, shared


def _run_variant(
    variant: ResolvedVariant, out: Path, source_paths: list[str] | None, progress: bool, log: Log
) -> VariantData:
    from finemill.pipeline.run import run_recipe

    folder = run_folder.beneath(out, run_folder.ablation_variant(out, variant.name))
    recipe = replace(variant.recipe, output=str(folder), steps=variant.own_steps)
    if source_paths is not None:  # the shared run's documents, already extracted: read as text, all of them
        recipe = replace(recipe, input=InputSpec(paths=source_paths, limit=-1))
    log(f"variant {variant.name}: {', '.join(s.name for s in variant.own_steps)}")
    stats = run_recipe(recipe, progress=progress)
    data = VariantData(variant.name, folder, stats["documents"]["count"], stats["documents"]["chars"])
    if not data.documents:
        data.error = "kept no documents"
    log(f"  {data.documents:,} documents kept" + (f": {data.error}, not trained" if data.error else ""))
    return data


def heldout_texts(
    spec: AblationSpec, plan: AblationPlan, out: Path, shared: Path | None, bpb_texts: str | None
) -> HeldOut:
    """Write OUT/heldout/texts.parquet: the documents the hold-out step took out (of the shared run, else of
    the reference variant: the same URLs in every variant), plus any --bpb-texts / eval.bpb_texts."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from finemill.eval.bpb import read_texts

    folder = shared or run_folder.ablation_variant(out, plan.reference.name)
    texts = [
        t
        for f in sorted(run_folder.removed(folder, HOLDOUT_STEP).glob("*.parquet"))
        for t in pq.read_table(f, columns=["text"]).column("text").to_pylist()
        if t
    ]
    after = spec.eval.heldout_after or "extraction"
    what = (
        f"{len(texts):,} documents held out by URL hash ({spec.eval.heldout_fraction:g} of URLs, right after "
        f"{after})"
    )
    for extra in filter(None, [spec.eval.bpb_texts, bpb_texts]):
        more = read_texts(extra)
        texts += more
        what += f" + {len(more):,} texts of {Path(extra).name}"
    if not texts:
        raise FinemillError(
            "no held-out text to measure bits per byte on: no document fell in the held-out URLs; "
            "raise eval.heldout_fraction or pass --bpb-texts FILE"
        )
    path = run_folder.beneath(out, run_folder.ablation_heldout(out))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.table({"text": texts}), tmp)
    tmp.replace(path)
    return HeldOut(len(texts), sum(len(t.encode("utf-8", "replace")) for t in texts), what)


def read_heldout_file(path: str | Path) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=["text"]).column("text").to_pylist()


def prepare_tokenizer(
    spec: AblationSpec, variants: list[VariantData], out: Path, given: Path | None, log: Log
) -> Path:
    """The one tokenizer of every variant: `given`, or byte-level BPE trained on the union of the variants'
    documents, taken in turn from each (so no variant's text dominates its sample). Reused when trained with
    the same settings on the same documents."""
    from finemill.tokenize.encoder import Encoder
    from finemill.tokenize.manifest import write_json_atomic
    from finemill.tokenize.patterns import EOT_TOKEN
    from finemill.tokenize.train_bpe import save_tokenizer, train_tokenizer

    target = run_folder.beneath(out, run_folder.ablation_tokenizer(out))
    if given is not None:
        Encoder.from_file(given, eot_token=EOT_TOKEN)  # a missing or broken file: a clear error now
        return Path(given).resolve()
    usable = [v for v in variants if not v.error]
    meta = {
        "vocab_size": spec.vocab_size,
        "sample_bytes": spec.tokenizer_sample_bytes,
        "variants": {v.name: v.documents for v in usable},
    }
    meta_path = target.with_name("tokenizer.train.json")
    if target.is_file() and meta_path.is_file() and json.loads(meta_path.read_text(encoding="utf-8")) == meta:
        return target
    log(
        f"tokenizer: byte-level BPE, vocab {spec.vocab_size:,}, on up to {spec.tokenizer_sample_bytes / 1e6:,.0f} MB "
        f"of the union of {len(usable)} variants' documents"
    )
    tokenizer = train_tokenizer(
        _union_texts(usable, spec.tokenizer_sample_bytes),
        spec.vocab_size,
        eot_token=EOT_TOKEN,
        show_progress=False,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    save_tokenizer(tokenizer, target)
    write_json_atomic(meta_path, meta)
    return target


def _union_texts(variants: list[VariantData], max_bytes: int) -> Iterator[str]:
    """Texts from each variant in turn until `max_bytes`; a document several variants kept counts once."""
    from finemill.tokenize.documents import find_document_files, iter_texts, list_units

    streams = [iter_texts(list_units(find_document_files(run_folder.documents(v.folder)))) for v in variants]
    seen: set[int] = set()
    total = 0
    for text in itertools.chain.from_iterable(itertools.zip_longest(*streams)):
        if text is None or hash(text) in seen:
            continue
        seen.add(hash(text))
        yield text
        total += len(text.encode("utf-8", "surrogatepass"))
        if max_bytes and total >= max_bytes:
            return


def tokenize_variants(variants: list[VariantData], tokenizer: Path, log: Log) -> None:
    """Each trainable variant's documents as token shards (all for training: bits per byte is measured on
    the held-out texts, so no validation split is cut from a variant)."""
    from finemill.tokenize.run import tokenize_run
    from finemill.tokenize.shards import ShardSettings

    for v in variants:
        if v.error:
            continue
        manifest = tokenize_run(
            v.folder, tokenizer=tokenizer, settings=ShardSettings(val_fraction=0.0), log=lambda _msg: None
        )
        v.train_tokens = int(manifest["splits"]["train"]["tokens"])
        log(f"variant {v.name}: {v.train_tokens:,} training tokens")
