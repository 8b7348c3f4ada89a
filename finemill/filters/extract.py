"""Main-text extraction with trafilatura, as FineWeb did, with every dropped page accounted for.

datatrove's extractor drops pages whose extraction is empty, times out or fails, and only counts them.
This step keeps datatrove's sandboxed Trafilatura (same options, same output) and also sends each
dropped page to an exclusion writer with its reason, so `removed/extract/` explains every loss.
"""

from __future__ import annotations

import contextlib

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.extractors.base import ExtractorSandbox
from datatrove.utils.typeshelper import StatHints

from finemill.errors import FinemillError


class TrafilaturaExtractor(Trafilatura):
    """trafilatura `extract(favor_precision=..., include_comments=False, deduplicate=True)` per page.

    `timeout` is per page, in seconds. FineWeb ran with 0.1 s; datatrove now defaults to 1 s. A timeout
    makes the output depend on the machine's speed, so our recipe uses 1 s: pages that take longer are
    pathological and are removed with reason `timeout`.
    """

    name = "⛏ Trafilatura"

    def __init__(
        self,
        favour_precision: bool = True,
        timeout: float = 1.0,
        deduplicate: bool = True,
        exclusion_writer=None,
    ) -> None:
        _check_trafilatura_imports()
        super().__init__(favour_precision=favour_precision, timeout=timeout, deduplicate=deduplicate)
        self.exclusion_writer = exclusion_writer

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        writer_context = self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext()
        with ExtractorSandbox(timeout=self.timeout, warmup_text="") as sandbox, writer_context as writer:
            for doc in data:
                self.stat_update(StatHints.total)
                html = doc.text
                with self.track_time():
                    reason = None
                    try:
                        doc.text = sandbox.process_document(html, self.extract)
                    except TimeoutError:
                        reason = "timeout"
                    except EOFError:
                        reason = "extractor_died"
                    except Exception:
                        reason = "extractor_error"
                if reason is None and doc.text:
                    self.stat_update(StatHints.forwarded)
                    self.update_doc_stats(doc)
                    yield doc
                    continue
                reason = reason or "no_main_text"
                self.stat_update(StatHints.dropped, f"dropped_{reason}")
                if writer:
                    doc.text = html  # keep the page itself: that is what a person needs to judge the loss
                    doc.metadata["filter_reason"] = reason
                    writer.write(doc, rank)


def _check_trafilatura_imports() -> None:
    """Fail at start, not with a timeout per page: the sandbox hides import errors as timeouts."""
    try:
        import trafilatura  # noqa: F401
    except ImportError as e:
        raise FinemillError(f"trafilatura cannot be imported ({e}); reinstall finemill's dependencies") from e
