"""Replacements put in place for the length of a block: the one mechanism of the scoped patches that wrap a
library call (trafilatura's, in `finemill.steps.extract.patches`).

Such a patch builds one `ScopedSwap` from a list of `Replacement`s, once, after checking its target, and
enters `swap.applied()` around each library call.

Concurrency model: one process-wide lock, and a depth count per `ScopedSwap`.

- The first entry (depth 0 -> 1) puts every replacement in place, in the order given; the last exit
  (1 -> 0) puts every original back, in the reverse order. Entries nested in the same thread or made by
  other threads meanwhile only count: the library is swapped once and restored once, whatever the
  nesting and however the threads interleave.
- Putting in place and putting back run under the lock, so a thread entering a block while another
  leaves one finds either every replacement or every original, never some of each.
- The library is patched for the whole process while any thread is in a block: every thread calling it
  meanwhile runs the replacements, and a thread calling it outside any block may even run while the
  swap is under way. That is why a scoped patch must give exactly the library's results (each patch's
  tests prove it): for those other threads only the speed changes.
- A block left by an exception restores as one left normally. Should putting a replacement in place
  fail, those already in place are put back (in reverse order) and the error propagates, depth still 0.

Each original is read just before its replacement goes in (at depth 0 -> 1), not when the `ScopedSwap`
is built: the end of the outermost block restores whatever was there when it began.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

_lock = threading.Lock()  # process-wide: guards every ScopedSwap's depth and its swapping in and out


@dataclass(frozen=True)
class Replacement:
    """One thing a scoped patch changes: on the way in `put(make())`, on the way out `put(saved)`, where
    `saved` is what `get()` returned just before the way in."""

    what: str  # "trafilatura.utils.repair_faulty_html": for reading, messages and tests
    get: Callable[[], Any]
    put: Callable[[Any], None]
    make: Callable[[], Any]


def attribute(owner: object, name: str, replacement: object) -> Replacement:
    """`owner.name` is `replacement` within the block (a module's function, a class's method)."""
    return fresh_attribute(owner, name, lambda: replacement)


def fresh_attribute(owner: object, name: str, make: Callable[[], Any]) -> Replacement:
    """`owner.name` is a new `make()` at each swap-in: state that must not outlive the block."""
    return Replacement(
        f"{getattr(owner, '__name__', type(owner).__name__)}.{name}",
        get=lambda: getattr(owner, name),
        put=lambda value: setattr(owner, name, value),
        make=make,
    )


def list_contents(what: str, items: list, replacement: list) -> Replacement:
    """The contents of the list `items` are `replacement`'s within the block, changed in place: every
    module that imported the list itself sees the change."""

    def put(values: list) -> None:
        items[:] = values

    return Replacement(what, get=lambda: list(items), put=put, make=lambda: list(replacement))


class ScopedSwap:
    """A patch's replacements, in place while at least one block (`applied()`) is open in the process."""

    def __init__(self, replacements: Sequence[Replacement]):
        self.replacements = tuple(replacements)
        self.depth = 0  # how many blocks are open, in every thread: guarded by the module's lock
        self._saved: list[tuple[Replacement, Any]] = []

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Within the block the replacements are in place (see the module's concurrency model)."""
        with _lock:
            if self.depth == 0:
                self._swap_in()
            self.depth += 1
        try:
            yield
        finally:
            with _lock:
                self.depth -= 1
                if self.depth == 0:
                    self._swap_out()

    def _swap_in(self) -> None:
        try:
            for replacement in self.replacements:
                saved = replacement.get()
                replacement.put(replacement.make())
                self._saved.append((replacement, saved))
        except BaseException:
            self._swap_out()
            raise

    def _swap_out(self) -> None:
        while self._saved:
            replacement, saved = self._saved.pop()
            replacement.put(saved)
