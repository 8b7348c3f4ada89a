"""What the local executor's pool workers find loaded when they start: the imports every worker of every
stage would otherwise repeat.

datatrove's local executor forks a new pool for each stage from one forkserver. Each worker then imports
what unpickling its task needs (datatrove, finemill's steps: ~2 s) and what its steps load on first use
(spaCy's tokenizer tables ~2.5 s, presidio's recognizers ~4 s): the FineWeb recipe with 2 workers spent
~20 CPU-seconds on it per run, whatever the number of documents. The forkserver imports it all once
instead, before it forks any worker, and every worker starts with it (copy-on-write).

What to load is the run's: `entries(pipeline)` lists, per stage, `finemill.pipeline.executors`, each step's module,
and each step's `worker_preload` (`"module:function"` entries, e.g. presidio only where a step scrubs PII).
`loading(entries)`, around the forkserver's start, makes this module the forkserver's preload and passes
the list in FINEMILL_WORKER_PRELOAD, which the forkserver reads as it imports this module. Nothing here is
required: an entry that fails to load is left to the worker, which loads it as before and reports its error.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterable, Iterator

ENV = "FINEMILL_WORKER_PRELOAD"


def entries(pipeline: Iterable[object]) -> list[str]:
    """What a worker running `pipeline` loads: modules, and its steps' `module:function` entries."""
    found = ["finemill.pipeline.executors"]
    for step in pipeline:
        found += [type(step).__module__, *getattr(step, "worker_preload", ())]
    return list(dict.fromkeys(found))


@contextlib.contextmanager
def loading(entries: Iterable[str]) -> Iterator[None]:
    """Within the block, a forkserver started by `multiprocess` loads `entries` before forking anything."""
    from multiprocess import forkserver

    forkserver.set_forkserver_preload(["__main__", __name__])  # "__main__": the forkserver's default
    before = os.environ.get(ENV)
    os.environ[ENV] = ",".join(entries)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before


def load(entries: Iterable[str]) -> None:
    for entry in entries:
        module, _, function = entry.partition(":")
        with contextlib.suppress(Exception):  # the worker loads it itself, and says what went wrong
            loaded = importlib.import_module(module)
            if function:
                getattr(loaded, function)()


if os.environ.get(ENV):  # imported by the forkserver as its preload
    load(os.environ[ENV].split(","))
