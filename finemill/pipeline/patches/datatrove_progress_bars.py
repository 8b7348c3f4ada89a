"""datatrove's own tqdm progress bars, off: finemill shows one live line per stage.

datatrove draws tqdm bars on stderr from its readers (`doc_progress`, `file_progress`) and, always, while
MinHash clustering reads its duplicate files ("Reading dup files"). On the terminal they were spliced into
finemill's stage line. `install()` gives those two modules a `tqdm` that is always disabled (it still
iterates what it wraps); finemill's progress (`finemill.pipeline.progress`) replaces them.
"""

from __future__ import annotations

import importlib

from tqdm import tqdm

from finemill.patches.check import outside_series, skip

TESTED_SERIES = ("0.10.",)
MODULES = ("datatrove.pipeline.readers.base", "datatrove.pipeline.dedup.minhash")


def disabled_tqdm(*args, **kwargs) -> tqdm:
    """tqdm as datatrove calls it, never drawn."""
    kwargs["disable"] = True
    return tqdm(*args, **kwargs)


def install() -> bool:
    """Turn datatrove's bars off; False, with a warning, where datatrove no longer looks as expected."""
    modules = [importlib.import_module(name) for name in MODULES]
    if all(getattr(module, "tqdm", None) is disabled_tqdm for module in modules):
        return True
    problem = outside_series("datatrove", TESTED_SERIES)
    for module in modules:
        if getattr(module, "tqdm", None) not in (tqdm, disabled_tqdm):
            problem = problem or f"{module.__name__} no longer draws its bars with tqdm.tqdm"
    if problem:
        skip("datatrove", "datatrove's progress bars off", problem)
        return False
    for module in modules:
        module.tqdm = disabled_tqdm
    return True
