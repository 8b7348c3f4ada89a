"""The run folder: where `finemill run`, `stats`, `tokenize` and `train` read and write inside OUT.

    OUT/input/                          the bundled sample crawl, when the run had no input
    OUT/documents/<rank>.parquet        kept documents, FineWeb's columns
    OUT/removed/<step>/<rank>.parquet   every removed document, with its step and reason
    OUT/stats.json                      per-step counts, reasons, characters, time
    OUT/README.md                       the dataset card: Hub header, recipe, funnel, licences, columns
    OUT/work/                           the run's plan, its resume marker and intermediate files
                                        (filtered documents, MinHash signatures, buckets, remove lists)
    OUT/logs/<stage>/                   datatrove's per-task logs, stats and completion markers, and
                                        finemill's per-task progress counters
    OUT/tokens/                         `finemill tokenize`: token shards and their manifest
    OUT/train-<name>/                   `finemill train`: checkpoints, metrics, samples

Every path is spelled here and nowhere else. The accessors only join names (readers use them as they
are); writers pass theirs through `beneath`, which refuses anything that would leave OUT.
"""

from __future__ import annotations

import json
from pathlib import Path

from finemill import storage
from finemill.errors import FinemillError

INPUT = "input"
DOCUMENTS = "documents"
REMOVED = "removed"
STATS_FILE = "stats.json"
CARD_FILE = "README.md"  # the dataset card (pipeline/card.py)
WORK = "work"
LOGS = "logs"
TOKENS = "tokens"
TRAIN_PREFIX = "train-"

# What `finemill run --force` deletes: the run's own parts (tokens and train-* are later commands' outputs).
RUN_PARTS = (DOCUMENTS, REMOVED, WORK, LOGS, STATS_FILE, CARD_FILE, INPUT)

# The MinHash stages' intermediate folders under work/minhash/.
MINHASH_PARTS = ("signatures", "buckets", "remove_ids")


def beneath(out: Path, *parts: str | Path) -> Path:
    """OUT/<parts...>, resolved, refusing any path that would leave OUT (`..`, an absolute part, a symlink
    out of it). Every folder a run writes to is built through here, so nothing a recipe says can write
    elsewhere. A part may be a path an accessor built from `out` itself. On object storage the same holds
    for the key prefix: no `..`, absolute part or other URL leads out of it."""
    if storage.is_remote(out):
        return _beneath_remote(out, parts)
    root = out.resolve()
    path = root.joinpath(*parts).resolve()
    if not path.is_relative_to(root) or path == root:
        shown = "/".join(str(p) for p in parts)
        raise FinemillError(f"output path {shown!r} is not inside the output folder {root}")
    return path


def _beneath_remote(out, parts: tuple) -> Path:
    root = out.resolve()
    relative = []
    for part in parts:
        text = str(part)
        if storage.is_remote(part) and text.startswith(f"{root}/"):  # an accessor's path, built from out
            text = text[len(str(root)) + 1 :]
        relative.append(text)
    shown = "/".join(str(p) for p in parts)
    if any(storage.is_remote(t) or t.startswith("/") or "://" in t for t in relative):
        raise FinemillError(f"output path {shown!r} is not inside the output folder {root}")
    path = root.joinpath(*relative).resolve()
    if not path.is_relative_to(root) or path == root:
        raise FinemillError(f"output path {shown!r} is not inside the output folder {root}")
    return path


def make_output_folder(out: Path) -> Path:
    """Create OUT (and its parents) and return it resolved; a one-line error when it cannot be a folder: it,
    or a path above it, is a file, or the parent is not writable. On object storage: a one-line error when
    the bucket is missing, denied or unreachable (there are no folders to create there)."""
    if storage.is_remote(out):
        storage.check_reachable(str(out))
        return storage.as_path(str(out)).resolve()
    out = Path(out).expanduser()
    for path in (out, *out.parents):
        if path.exists() and not path.is_dir():
            raise FinemillError(
                f"output folder {out}: {path} is a file, not a folder; choose another --output"
            )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FinemillError(f"cannot create the output folder {out}: {e.strerror or e}") from None
    return out.resolve()


def is_finemill_part(name: str) -> bool:
    """Whether an entry of a run folder is something finemill writes there (run, tokenize or train)."""
    return name in RUN_PARTS or name == TOKENS or name.startswith(TRAIN_PREFIX)


def input_folder(out: Path) -> Path:
    return out / INPUT


def documents(out: Path) -> Path:
    return out / DOCUMENTS


def removed(out: Path, step: str) -> Path:
    return out / REMOVED / step


def stats_file(out: Path) -> Path:
    return out / STATS_FILE


def card_file(out: Path) -> Path:
    return out / CARD_FILE


def work(out: Path, *parts: str) -> Path:
    return out.joinpath(WORK, *parts)


def input_list(out: Path, kind: str = "crawl") -> Path:
    """The input files of one kind (crawl, jsonl, parquet), one per line, relative to their common folder (the
    paths file of that kind's reader)."""
    return work(out, "input_files.txt" if kind == "crawl" else f"input_files-{kind}.txt")


def run_marker(out: Path) -> Path:
    """The run's fingerprint (steps, settings, inputs): a rerun must match it to resume."""
    return work(out, "run.json")


def plan_file(out: Path) -> Path:
    """The stages, their steps and tasks, saved before the first task runs (stats.json is built from it)."""
    return work(out, "plan.json")


def filtered(out: Path) -> Path:
    """Stage 1's kept documents, read back by the MinHash finalize stage."""
    return work(out, "filtered")


def minhash(out: Path, part: str) -> Path:
    if part not in MINHASH_PARTS:
        raise ValueError(f"no MinHash folder {part!r}; they are {MINHASH_PARTS}")
    return work(out, "minhash", part)


def logs(out: Path, stage: str) -> Path:
    """A stage's datatrove logging folder: logs/ (task logs), stats/ (per-task stats), completions/."""
    return out / LOGS / stage


def task_logs(out: Path, stage: str) -> Path:
    return logs(out, stage) / "logs"


def task_stats(out: Path, stage: str) -> Path:
    return logs(out, stage) / "stats"


def completions(out: Path, stage: str) -> Path:
    return logs(out, stage) / "completions"


def progress(out: Path, stage: str) -> Path:
    """Each running task's counters (`<rank>.json`: documents read, kept, input bytes), which `finemill run`
    polls for its progress line."""
    return logs(out, stage) / "progress"


def scores(out: Path, name: str | None = None) -> Path:
    """`finemill classify score`: OUT/scores/<name>.parquet (id, quality_score[, int_score]) per model."""
    folder = out / "scores"
    return folder if name is None else folder / f"{name}.parquet"


def tokens(out: Path) -> Path:
    return out / TOKENS


def train(out: Path, config_name: str) -> Path:
    """The training run folder for a config (`train-tiny` and `tiny` both give OUT/train-tiny)."""
    return out / f"{TRAIN_PREFIX}{config_name.removeprefix(TRAIN_PREFIX) or 'run'}"


def write_stats(out: Path, stats: dict) -> None:
    """Write OUT/stats.json: the only writer of that file."""
    stats_file(out).write_text(json.dumps(stats, indent=1, ensure_ascii=False))


def read_stats(out: Path) -> dict | None:
    """The content of OUT/stats.json; None when there is none; a one-line error when it is not JSON."""
    path = stats_file(out)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise FinemillError(f"{path}: not valid JSON ({e})") from None


# `finemill ablate`'s folder (OUT below is the ablation's --out):
#   OUT/shared/<key>/               the steps every variant shares, run once (a run folder)
#   OUT/variants/<name>/            each variant's run folder (documents, removed, stats.json, tokens/)
#   OUT/tokenizer/tokenizer.json    the one tokenizer of every variant
#   OUT/runs/<variant>/seed-<s>/    one training run (checkpoints, metrics) with its curve and result.json
#   OUT/ablation.json, .png, .html  the report
ABLATION_SETTINGS = "ablation-settings.json"


def ablation_shared(out: Path, key: str) -> Path:
    return out / "shared" / key


def ablation_variant(out: Path, name: str) -> Path:
    return out / "variants" / name


def ablation_tokenizer(out: Path) -> Path:
    return out / "tokenizer" / "tokenizer.json"


def ablation_run(out: Path, variant: str, seed: int) -> Path:
    return out / "runs" / variant / f"seed-{seed}"


def ablation_settings(out: Path) -> Path:
    """What the ablation's data depends on (variants' steps, inputs): a rerun must match it to resume."""
    return out / ABLATION_SETTINGS


def ablation_report(out: Path, suffix: str = ".json") -> Path:
    """OUT/ablation.json (the numbers), .png (bits per byte against tokens), .html (the page)."""
    return out / f"ablation{suffix}"


def ablation_heldout(out: Path) -> Path:
    """The held-out texts every variant's bits per byte is measured on (parquet, a `text` column)."""
    return out / "heldout" / "texts.parquet"
