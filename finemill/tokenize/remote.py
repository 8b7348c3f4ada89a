"""A tokens folder on object storage (`s3://bucket/out/tokens`): written and read through a local copy.

The shards are written as everywhere else (temp name, fsync, rename: `shards.py`), into a local folder that
stands for the remote one, and uploaded as they are: once at the start the remote folder's files come down
(so a rerun resumes from the shards another machine finished), at the end, or on an error or Ctrl-C, the
finished files go up; temporary files never do. Training reads the tokens the same way: the manifest, the
tokenizer and the parquet shards come down once into a local cache (files already there are not fetched
again), and the loader reads them from disk.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from finemill import storage

# What training reads of a tokens folder: its manifest, the tokenizer files and the parquet shards.
_TRAINING_FILES = ("manifest.json", "tokenizer.json", "tokenizer_config.json")
_TRAINING_FOLDERS = ("train/", "val/")


@contextmanager
def staged_tokens(url: str, overwrite: bool, log: Callable[[str], None]) -> Iterator[Path]:
    """A local folder standing for the remote tokens folder `url` while `finemill tokenize` writes it."""
    storage.check_reachable(url)
    local = storage.local_cache(url, "tokens")
    shutil.rmtree(local, ignore_errors=True)  # the remote folder is the truth: start from its files
    local.mkdir(parents=True)
    if overwrite:
        fs, inner = storage.filesystem(url)
        if fs.exists(inner):
            fs.rm(inner, recursive=True)
    elif storage.download_folder(url, local):
        log(f"resuming from the files in {url}")
    try:
        yield local
    finally:  # what finished goes up, also when the run stops early: a rerun resumes from it
        storage.upload_folder(local, url)


def mirror_for_training(url: str) -> Path:
    """A local copy of what training reads of the remote tokens folder `url`."""
    storage.check_reachable(url)
    local = storage.local_cache(url, "tokens-read")
    fs, inner = storage.filesystem(url)
    manifest = f"{inner.rstrip('/')}/manifest.json"
    copy = local / "manifest.json"
    if copy.is_file() and fs.exists(manifest) and fs.cat_file(manifest) != copy.read_bytes():
        shutil.rmtree(
            local
        )  # the tokens were written again (--overwrite): a shard may keep its name and size
        local.mkdir(parents=True)
    storage.download_folder(
        url,
        local,
        keep=lambda relative: relative in _TRAINING_FILES or relative.startswith(_TRAINING_FOLDERS),
    )
    return local
