"""What `finemill train --data` names: a tokens folder with its manifest, or llm.c `.bin` shards."""

from __future__ import annotations

from pathlib import Path

from finemill import storage
from finemill.tokenize.llmc_data import LlmcData, is_llmc
from finemill.tokenize.tokens_folder import TokenData


def open_tokens(path: str | Path) -> TokenData | LlmcData:
    """A tokens folder (`TokenData`), or llm.c shards: a `.bin` file, a folder of them or a glob (`LlmcData`,
    the same interface). A tokens folder on object storage is read from a local copy (`remote.py`)."""
    if storage.is_remote(path):
        from finemill.tokenize.remote import mirror_for_training

        path = mirror_for_training(str(path))
    return LlmcData(path) if is_llmc(path) else TokenData(path)
