"""What every change finemill makes to a third-party library is built on, at the bottom of the library.

    check.py           PatchSkipped, and how a patch checks that its target still looks as it was written for
    swap.py            ScopedSwap: replacements put in place for the length of a block, one concurrency model
    hidden_imports.py  `hidden(...)`: modules not importable for the length of one import (spaCy, presidio)

The patches themselves sit next to the code whose library they change: `finemill.pipeline.patches`
(datatrove and Ray; `install()`, `PatchedExecutor`), `finemill.steps.extract.patches` (trafilatura),
`finemill.steps.pii.presidio_ip_pattern` (presidio). docs/patches.md lists every one: what it changes, why,
how it is installed and the test that proves the library's results unchanged. This package imports nothing
else of finemill, and importing it (or any finemill module) changes nothing.
"""

from __future__ import annotations

from finemill.patches.check import PatchSkipped

__all__ = ["PatchSkipped"]
