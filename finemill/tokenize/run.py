"""`finemill tokenize OUT` as a function: get the tokenizer (train, copy or reuse), then write the shards."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from finemill import run_folder, storage
from finemill.errors import FinemillError
from finemill.tokenize.documents import (
    find_document_files,
    iter_texts,
    list_units,
    ordered_units,
    sources_signature,
)
from finemill.tokenize.formats import FORMATS
from finemill.tokenize.hf_tokenizer import CONFIG_NAME as HF_CONFIG_NAME
from finemill.tokenize.hf_tokenizer import write_tokenizer_config
from finemill.tokenize.manifest import (
    MANIFEST_NAME,
    TOKENIZER_NAME,
    read_manifest,
    sha256_file,
    write_json_atomic,
)
from finemill.tokenize.mix import mix_units
from finemill.tokenize.patterns import EOT_TOKEN, GPT4_PATTERN, MULTILINGUAL_PATTERN
from finemill.tokenize.shards import SPLITS, ShardSettings, write_shards

TRAIN_META_NAME = "tokenizer.train.json"  # the settings a trained tokenizer.json came from, for reuse
_VERIFY_BYTES = 256 * 1024  # real text the tiktoken path is checked on before a run uses it


def clear_tokens_dir(tokens_dir: Path, keep_tokenizer: bool = False) -> None:
    """Remove what a previous `finemill tokenize` wrote (only that)."""
    for folder in (*SPLITS, *FORMATS):
        shutil.rmtree(tokens_dir / folder, ignore_errors=True)
    for name in (MANIFEST_NAME, TRAIN_META_NAME) + (
        () if keep_tokenizer else (TOKENIZER_NAME, HF_CONFIG_NAME)
    ):
        (tokens_dir / name).unlink(missing_ok=True)


def _has_output(tokens_dir: Path) -> bool:
    return read_manifest(tokens_dir) is not None or any(
        any((tokens_dir / s).glob("shard_*.parquet")) for s in SPLITS
    )


def prepare_tokenizer(
    tokens_dir: Path,
    units: list,
    files: list[Path],
    *,
    tokenizer: Path | None,
    vocab_size: int,
    sample_bytes: int,
    eot_token: str,
    settings: ShardSettings,
    show_progress: bool,
    log: Callable[[str], None],
) -> Path:
    """Put the tokenizer for this run at tokens_dir/tokenizer.json and return that path."""
    tokens_dir.mkdir(parents=True, exist_ok=True)
    target = tokens_dir / TOKENIZER_NAME
    if tokenizer is not None:
        return _copy_tokenizer(Path(tokenizer), tokens_dir, target, eot_token, log)
    meta = {
        "vocab_size": vocab_size,
        "sample_bytes": sample_bytes,
        "seed": settings.seed,
        "val_fraction": settings.val_fraction,
        "eot_token": eot_token,
        "pattern": split_pattern(files),
        "sources": sources_signature(files),
    }
    if settings.languages:  # absent without --languages: earlier tokenizers are still reused
        meta["languages"] = [list(pair) for pair in settings.languages]
    meta_path = tokens_dir / TRAIN_META_NAME
    if target.is_file() and meta_path.is_file():
        import json

        if json.loads(meta_path.read_text(encoding="utf-8")) == meta:
            log(f"tokenizer: reusing {target} (trained earlier with these settings)")
            return target
    if _has_output(tokens_dir):
        raise FinemillError(f"{tokens_dir} holds shards made with another tokenizer or settings; {_CHANGING}")
    _train_tokenizer(units, target, meta, show_progress, log)
    write_json_atomic(meta_path, meta)
    return target


_CHANGING = "pass --overwrite to start over with it"


def share_of(units: list, language: str) -> float:
    """The share of its documents a mixed language keeps."""
    return next((u.keep for u in units if Path(u.path).parent.name == language), 1.0)


def split_pattern(files: list[Path]) -> str:
    """The pre-tokenization regex to train with: the multilingual one for a run written per language (its
    files lie in documents/<language>/ folders), GPT-4's otherwise."""
    return MULTILINGUAL_PATTERN if any(f.parent.name != "documents" for f in files) else GPT4_PATTERN


def _copy_tokenizer(
    tokenizer: Path, tokens_dir: Path, target: Path, eot_token: str, log: Callable[[str], None]
) -> Path:
    """The user's tokenizer.json as the run's (unless it is already): only into a folder with no shards."""
    from finemill.tokenize.encoder import Encoder

    Encoder.from_file(tokenizer, eot_token=eot_token)  # a clear error for a missing or broken file
    if target.is_file() and sha256_file(target) == sha256_file(tokenizer):
        return target
    if _has_output(tokens_dir):
        raise FinemillError(f"{tokens_dir} holds shards made with another tokenizer; {_CHANGING}")
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(tokenizer, tmp)
    tmp.replace(target)
    (tokens_dir / TRAIN_META_NAME).unlink(missing_ok=True)
    log(f"tokenizer: {tokenizer} copied to {target}")
    return target


def _train_tokenizer(
    units: list, target: Path, meta: dict, show_progress: bool, log: Callable[[str], None]
) -> None:
    """Train a byte-level BPE with `meta`'s settings on the train split's documents and save it to `target`."""
    from finemill.tokenize.train_bpe import save_tokenizer, train_tokenizer

    vocab_size, sample_bytes = meta["vocab_size"], meta["sample_bytes"]
    what = "all documents" if not sample_bytes else f"up to {sample_bytes / 1e6:,.0f} MB of documents"
    log(f"tokenizer: training byte-level BPE, vocab {vocab_size}, on {what} (train split only)")
    # Val documents are left out of tokenizer training so validation text stays unseen.
    texts = iter_texts(units, max_bytes=sample_bytes, skip_val=meta["val_fraction"])
    tok = train_tokenizer(
        texts, vocab_size, eot_token=meta["eot_token"], pattern=meta["pattern"], show_progress=show_progress
    )
    save_tokenizer(tok, target)
    if tok.get_vocab_size(with_added_tokens=True) < vocab_size:
        log(
            f"note: the sample only supports {tok.get_vocab_size(with_added_tokens=True)} tokens, "
            f"fewer than {vocab_size}; the manifest has the real vocab_size"
        )


@contextmanager
def _tokens_folder(out_dir, overwrite: bool, log: Callable[[str], None]) -> Iterator[tuple[Path, bool]]:
    """OUT/tokens, and whether what is there must be cleared first; for OUT on object storage a local folder
    standing for it, already cleared remotely with --overwrite (`remote.staged_tokens`)."""
    if not storage.is_remote(out_dir):
        yield run_folder.tokens(out_dir), overwrite
        return
    from finemill.tokenize.remote import staged_tokens

    with staged_tokens(str(run_folder.tokens(out_dir)), overwrite, log) as local:
        yield local, False


def _mixed_languages(units: list, documents_dir: Path, languages: tuple, log: Callable[[str], None]) -> list:
    """Only the listed languages, each its share of the text (finemill/tokenize/mix.py)."""
    units = mix_units(units, documents_dir, languages)
    shares = ", ".join(f"{lang} {w:.0%} (keeps {share_of(units, lang):.0%})" for lang, w in languages)
    log(f"languages: {shares}")
    return units


def tokenize_run(
    out_dir: Path | str,
    *,
    tokenizer: Path | None = None,
    vocab_size: int = 32768,
    sample_bytes: int = 1_000_000_000,
    eot_token: str = EOT_TOKEN,
    settings: ShardSettings | None = None,
    overwrite: bool = False,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> dict:
    """Tokenize OUT/documents into OUT/tokens; returns the manifest. OUT on object storage: the documents are
    read from it and the tokens written through a local copy that is uploaded (`remote.py`)."""
    from finemill.tokenize.encoder import Encoder

    settings = settings or ShardSettings()
    settings.check()
    if storage.is_remote(out_dir):
        storage.check_reachable(str(out_dir))  # a missing bucket, denied access, no endpoint: one line
    out_dir = storage.as_path(out_dir)
    if not out_dir.is_dir():
        raise FinemillError(f"run folder not found: {out_dir}")
    documents_dir = run_folder.documents(out_dir)
    files = find_document_files(documents_dir)
    units = ordered_units(list_units(files), settings.seed)
    if settings.languages:
        units = _mixed_languages(units, documents_dir, settings.languages, log)
    with _tokens_folder(out_dir, overwrite, log) as (tokens_dir, overwrite):
        if overwrite:
            # `--tokenizer OUT/tokens/tokenizer.json --overwrite` means: keep this tokenizer, redo the shards.
            given = (
                tokenizer is not None and Path(tokenizer).resolve() == (tokens_dir / TOKENIZER_NAME).resolve()
            )
            clear_tokens_dir(tokens_dir, keep_tokenizer=given)
        path = prepare_tokenizer(
            tokens_dir,
            units,
            files,
            tokenizer=tokenizer,
            vocab_size=vocab_size,
            sample_bytes=sample_bytes,
            eot_token=eot_token,
            settings=settings,
            show_progress=progress,
            log=log,
        )
        encoder = Encoder.from_file(path, eot_token=eot_token)
        # so transformers' AutoTokenizer loads the folder, and pads
        write_tokenizer_config(tokens_dir, eot_token)
        encoder.verify(list(iter_texts(units, max_bytes=_VERIFY_BYTES)))
        if encoder.backend == "tiktoken":
            log("encoder: tiktoken, built from the tokenizer's merges (checked against HF tokenizers)")
        else:
            log(f"encoder: HF tokenizers encode_batch ({encoder.reason})")
        manifest = write_shards(documents_dir, tokens_dir, encoder, settings, progress=progress, log=log)
        if settings.val_fraction and not manifest["splits"]["val"]["documents"]:
            log(
                f"note: no document fell in val at --val-fraction {settings.val_fraction}; raise it for a val split"
            )
        return manifest
