"""Token formats other trainers read, written beside the parquet shards from the same encoding pass.

  base      the writer interface (`FormatWriter`) and the helpers the formats share
  megatron  Megatron-LM's indexed dataset (`.bin` + `.idx`)
  llmc      llm.c's `.bin` shards (256 x int32 header, then the tokens); also read back by `finemill train`
  datatrove datatrove's and nanotron's `.ds` + `.ds.index`

`FORMATS` maps each `--format` name to its writer class; `parquet` is always written (it carries the
resume state and is what finemill's own loop reads), so it has no class here.
"""

from __future__ import annotations

from finemill.tokenize.formats.base import FormatWriter
from finemill.tokenize.formats.datatrove import Datatrove
from finemill.tokenize.formats.llmc import Llmc
from finemill.tokenize.formats.megatron import Megatron

PARQUET = "parquet"
FORMATS: dict[str, type[FormatWriter]] = {cls.name: cls for cls in (Megatron, Llmc, Datatrove)}
NAMES = (PARQUET, *FORMATS)

__all__ = ["FORMATS", "NAMES", "PARQUET", "FormatWriter"]
