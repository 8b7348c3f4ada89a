"""Main-text extraction, as FineWeb did, with every dropped page accounted for.

datatrove's extractors drop pages whose extraction is empty, times out or fails, and only count them.
`AccountedExtraction` keeps datatrove's sandbox (a child process per task, so a timeout or a crash in
the extractor costs one page, not the task) and also sends each dropped page to an exclusion writer with
its reason, so `removed/<step>/` explains every loss. `TrafilaturaExtractor` is datatrove's Trafilatura
(same options, same output) run through that loop; `finemill.steps.extract.resiliparse` is the fast one.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.extractors.base import BaseExtractor, ExtractorSandbox
from datatrove.utils.typeshelper import StatHints

from finemill.errors import FinemillError
from finemill.steps.extract import patches


class AccountedExtraction(BaseExtractor):
    """The extraction loop: `self.extract(html)` per page in datatrove's sandbox; pages that give no text
    are removed with a reason (`no_main_text`, `timeout`, `extractor_died`, `extractor_error`) and written,
    as HTML, to `self.exclusion_writer`. Subclasses provide `extract` and set `exclusion_writer`."""

    exclusion_writer = None

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        writer_context = self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext()
        with ExtractorSandbox(timeout=self.timeout, warmup_text="") as sandbox, writer_context as writer:
            for doc in data:
                self.stat_update(StatHints.total)
                html = doc.text
                with self.track_time():
                    reason = None
                    try:
                        doc.text = sandbox.process_document(html, self._extract_or_error)
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

    def _extract_or_error(self, html: str) -> str | Exception:
        """`extract` in the sandbox's child process. datatrove's sandbox lets an exception kill the child,
        which the parent then sees as a dead process (and restarts it); an error returned instead is
        raised in the parent, so the page is counted as `extractor_error` and the child lives on."""
        try:
            return self.extract(html)
        except Exception as e:  # any error of the extractor is this page's reason
            return RuntimeError(
                f"{type(e).__name__}: {e}"
            )  # always picklable, unlike some C-extension errors


class TrafilaturaExtractor(AccountedExtraction, Trafilatura):
    """trafilatura `extract(favor_precision=..., include_comments=False, deduplicate=True)` per page.

    `timeout` is per page, in seconds. FineWeb ran with 0.1 s; datatrove now defaults to 1 s. A timeout
    makes the output depend on the machine's speed, so our recipe uses 1 s: pages that take longer are
    pathological and are removed with reason `timeout`.

    Four speed-ups, each swapped into trafilatura for one call (`finemill.steps.extract.patches`), leave
    the extracted text the same. `compiled_xpaths` (default on): trafilatura's attribute-matching XPaths
    are evaluated by `finemill.steps.extract.fast_xpath`, which selects the same elements faster
    (docs/performance.md), and trafilatura's HTML parser picks each element object's class with lxml's C
    lookups (the same classes). `fast_readability` (default on): two steps of trafilatura's readability
    fallback are `finemill.steps.extract.fast_readability`'s, which change the tree as readability's do
    with less work. `fewer_tree_copies` (default on): trafilatura's `bare_extraction` copies the page's
    tree once instead of three times: the two copies read only on the rare pages that reach justext or
    the baseline are made then, by parsing the page again. `fast_text_helpers` (default on): two of
    trafilatura's text helpers (`remove_control_characters`, `repair_faulty_html`) skip work that cannot
    change their result. `pause_gc` (default on): Python's cycle collector waits for the end of each
    call; a call makes thousands of lxml objects, which the collector otherwise walks again and again,
    and what they leave is collected right after. Set all five to false to run trafilatura exactly as
    installed.
    """

    name = "⛏ Trafilatura"

    def __init__(
        self,
        favour_precision: bool = True,
        timeout: float = 1.0,
        deduplicate: bool = True,
        compiled_xpaths: bool = True,
        fast_readability: bool = True,
        fewer_tree_copies: bool = True,
        fast_text_helpers: bool = True,
        pause_gc: bool = True,
        exclusion_writer=None,
    ) -> None:
        check_import("trafilatura")
        super().__init__(favour_precision=favour_precision, timeout=timeout, deduplicate=deduplicate)
        self.compiled_xpaths = compiled_xpaths
        self.fast_readability = fast_readability
        self.fewer_tree_copies = fewer_tree_copies
        self.fast_text_helpers = fast_text_helpers
        self.pause_gc = pause_gc
        self.exclusion_writer = exclusion_writer

    def extract(self, text: str) -> str:
        # each swapped in for this call only: no other trafilatura user is affected
        with contextlib.ExitStack() as speedups:
            if self.pause_gc:  # first in, last out: the call's objects are freed before the collector runs
                speedups.enter_context(gc_paused())
            if self.compiled_xpaths:
                speedups.enter_context(patches.compiled_xpaths())
            if self.fast_readability:
                speedups.enter_context(patches.fast_readability())
            if self.fewer_tree_copies:
                speedups.enter_context(patches.fewer_tree_copies(text))
            if self.fast_text_helpers:
                speedups.enter_context(patches.fast_text_helpers())
            return super().extract(text)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cycle collector off for the block (unless it was off already). It counts the allocations
    meanwhile, so it runs at the first allocation after the block: only when, not what, it collects
    changes."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_import(module: str) -> None:
    """Fail at start, not with a timeout per page: the sandbox hides import errors as timeouts."""
    try:
        __import__(module)
    except ImportError as e:
        raise FinemillError(f"{module} cannot be imported ({e}); reinstall finemill's dependencies") from e
