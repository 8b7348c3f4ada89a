"""Every change finemill makes to a third-party library's behaviour, in one place.

Process-wide, applied by `install()` (the run's entry point, and every worker process through
`PatchedExecutor`), never by importing a module:

    datatrove_dependency_check  datatrove's `_is_distribution_available`: one read of the installed
                                distributions instead of one per name (planning a run 0.82 s -> 0.12 s);
                                same answers: tests/test_recipe.py::test_dependency_check_answers_as_datatrove
    datatrove_task_logging      datatrove's `add_task_logger`/`close_task_logger`: task logs in files only,
                                warnings only on the terminal (finemill prints its own progress and funnel);
                                same log files: tests/test_patches.py, tests/test_run.py
    datatrove_progress_bars     datatrove's tqdm bars (document progress, "Reading dup files") off: finemill
                                shows one live line per stage (finemill.pipeline.progress):
                                tests/test_progress.py
    worker_interrupts           datatrove's extraction process ignores Ctrl-C; with
                                `start_forkserver_ignoring_interrupts()` and `quiet_pool_worker()` (the local
                                executor's), only finemill's process takes Ctrl-C and its pool workers end
                                quietly: tests/test_interrupt_run.py

Scoped, applied where used, for the length of a block or to one object:

    hidden_imports        `hidden(...)`: torch and transformers not importable while spaCy and presidio are
                          imported (2.38 s -> 0.78 s and 5.89 s -> 1.09 s per process): tests/test_imports.py
    presidio_ip_pattern   `ascii_bounded_ip_patterns(...)`: presidio's IPv6 patterns with ASCII-only
                          boundaries, for one recognizer (addresses glued to CJK text): tests/test_pii.py
    ray_loopback          `loopback_only()`: Ray's multi-node switch off while a private Ray starts, so it
                          listens on loopback only: tests/test_ray.py
    trafilatura_xpaths    `compiled_xpaths()`: finemill's compiled XPaths in trafilatura's lists, and lxml's
                          C class lookups in trafilatura's HTML parser, for one `extract` call (~2x
                          faster, same elements, same classes): tests/test_fast_xpath.py
    trafilatura_readability `fast_readability()`: two steps of trafilatura's readability with less work (the
                          same tree) for one `extract` call: tests/test_extraction_speedups.py
    trafilatura_tree_copies `fewer_tree_copies(html)`: one copy of the page's tree in trafilatura's
                          `bare_extraction` instead of three, the others made only where read (the same
                          text) for one `extract` call: tests/test_extraction_speedups.py
    trafilatura_text_helpers `fast_text_helpers()`: trafilatura's `remove_control_characters` and
                          `repair_faulty_html` without the work that cannot change their result, for one
                          `extract` call: tests/test_extraction_speedups.py

Each patch first checks that its target looks as it did when the patch was written (a function's
parameters, a pattern's text, a module's lists, a release series); where it does not, the patch is skipped
with a `PatchSkipped` warning naming the library and its version, and the library runs as installed
(tests/test_patches.py).
"""

from __future__ import annotations

from finemill.patches.check import PatchSkipped
from finemill.patches.hidden_imports import hidden, torch_unused_by_spacy, transformers_unused_by_presidio
from finemill.patches.presidio_ip_pattern import ascii_bounded_ip_patterns
from finemill.patches.ray_loopback import loopback_only
from finemill.patches.trafilatura_readability import fast_readability
from finemill.patches.trafilatura_text_helpers import fast_text_helpers
from finemill.patches.trafilatura_tree_copies import fewer_tree_copies
from finemill.patches.trafilatura_xpaths import compiled_xpaths

__all__ = [
    "PatchSkipped",
    "PatchedExecutor",
    "ascii_bounded_ip_patterns",
    "compiled_xpaths",
    "fast_readability",
    "fast_text_helpers",
    "fewer_tree_copies",
    "hidden",
    "install",
    "loopback_only",
    "torch_unused_by_spacy",
    "transformers_unused_by_presidio",
]

_installed = False


def install() -> None:
    """Apply the process-wide patches, once per process (later calls do nothing)."""
    global _installed
    if _installed:
        return
    # imported here: they import datatrove's executors, which the scoped patches' users do not need
    from finemill.patches import (
        datatrove_dependency_check,
        datatrove_progress_bars,
        datatrove_task_logging,
        worker_interrupts,
    )

    datatrove_dependency_check.install()
    datatrove_task_logging.install()
    datatrove_progress_bars.install()
    worker_interrupts.install()
    _installed = True


def _unpickled_with_patches(cls: type) -> object:
    install()  # before the executor's pipeline is unpickled: its steps run datatrove's dependency check
    return cls.__new__(cls)


class PatchedExecutor:
    """Mixin for a datatrove executor: every process that runs its tasks has finemill's patches installed.

    Workers (forkserver processes, Ray workers, Slurm jobs) receive the executor pickled. Unpickling it
    calls `install()` first, so the pipeline's steps, rebuilt just after, already use the patched
    dependency check; `_run_for_rank` installs them too, for an executor run in the process that made it.
    """

    def __reduce_ex__(self, protocol):
        return _unpickled_with_patches, (type(self),), self.__dict__

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        install()
        return super()._run_for_rank(rank, local_rank, node_rank)
