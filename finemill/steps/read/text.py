"""Reading documents whose text is already extracted: JSON lines and parquet, as datatrove reads them.

`TextJsonlReader` and `TextParquetReader` are datatrove's JsonlReader and ParquetReader with one mapping of
the usual layouts onto FineWeb's fields, so the filters, dedup and writers see what a crawl run gives them:

- Dolma (`text`, `id`, `created`, `metadata: {warc_url, url, warc_date, ...}`): url from `warc_url` (Dolma's
  `url` has no scheme), date from `warc_date`, else `created`;
- FineWeb and finemill's own documents (`text`, `id`, `url`, `date`, `dump`, ...): as they are.

Other scalar fields are kept in the metadata (so a removed document's row shows them); nested ones (Dolma's
`attributes`) are dropped. Each document's `dump` is, as for crawl files, the snapshot its input names (a
`dump` field, else a `CC-MAIN-YYYY-WW` in the file's path), the recipe's otherwise, or the recipe's always
with `dump_from_input=False`. A record without text is counted (`skipped_no_text`), not silently dropped.
"""

from __future__ import annotations

import json
from typing import Any

from datatrove.pipeline.readers import JsonlReader, ParquetReader

from finemill.steps.read.warc import SNAPSHOT, snapshot_in_path

_URL_KEYS = ("url", "warc_url")  # the later one wins: Dolma's warc_url is the full URL, its url has no scheme
_DATE_KEYS = ("created", "date", "warc_date")  # the later wins: the crawl date over the record's creation


class _TextFields:
    """FineWeb's fields from Dolma's or FineWeb's records, and the dump rule of the crawl reader."""

    dump_from_input: bool = True

    def _default_adapter(self, data: dict, path: str, id_in_file: int | str) -> dict:
        nested = data.pop("metadata", None) or {}
        if isinstance(nested, str):
            try:
                nested = json.loads(nested)
            except json.JSONDecodeError:
                nested = {}
        fields = {**data, **(nested if isinstance(nested, dict) else {})}
        text = fields.pop(self.text_key, None)
        doc_id = fields.pop(self.id_key, None) or f"{path}/{id_in_file}"
        metadata = {key: value for key, value in fields.items() if _scalar(value)}
        for target, keys in (("url", _URL_KEYS), ("date", _DATE_KEYS)):
            found = [str(fields[key]) for key in keys if fields.get(key) not in (None, "")]
            for key in keys:
                metadata.pop(key, None)
            if found:
                metadata[target] = found[-1]
        return {"text": text or "", "id": str(doc_id), "metadata": metadata}

    def get_document_from_dict(self, data: dict, source_file: str, id_in_file: int | str):
        document = super().get_document_from_dict(data, source_file, id_in_file)
        if document is None:
            self.stat_update("skipped_no_text")
            return None
        recipe_dump = (self.default_metadata or {}).get("dump")
        own = document.metadata.get("dump")
        dump = None
        if self.dump_from_input:
            dump = (
                own
                if own and SNAPSHOT.fullmatch(str(own))
                else snapshot_in_path(f"{self.data_folder.path}/{source_file}")
            )
        if dump:
            document.metadata["dump"] = dump
            self.stat_update("dump_from_input")
        elif recipe_dump is not None:
            document.metadata["dump"] = recipe_dump
        return document


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


class TextJsonlReader(_TextFields, JsonlReader):
    """JSON lines (optionally gzip or zstd) of already extracted documents."""

    name = "📄 Text reader (JSONL)"

    def __init__(self, *args, dump_from_input: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.dump_from_input = dump_from_input


class TextParquetReader(_TextFields, ParquetReader):
    """Parquet files with a `text` column of already extracted documents."""

    name = "📄 Text reader (parquet)"

    def __init__(self, *args, dump_from_input: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.dump_from_input = dump_from_input
