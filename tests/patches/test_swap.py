"""The one mechanism of finemill's scoped patches (`finemill.patches.swap`): swapped once and restored once
however the blocks nest or the threads interleave, restored on an exception, in the reverse order, and the
four trafilatura patches built on it. Each patch's own tests show that its replacements give the library's
results (tests/steps/extract/test_fast_xpath.py, tests/steps/extract/test_extraction_speedups.py)."""

from __future__ import annotations

import threading
import types

import pytest

from finemill.patches.swap import Replacement, ScopedSwap, attribute, fresh_attribute, list_contents


def original() -> str:
    return "original"


def replacement() -> str:
    return "replacement"


def recording(log: list, name: str, owner: types.SimpleNamespace, new: object) -> Replacement:
    """`owner.name` swapped for `new`, each put logged as (name, value)."""

    def put(value: object) -> None:
        log.append((name, value))
        setattr(owner, name, value)

    return Replacement(name, get=lambda: getattr(owner, name), put=put, make=lambda: new)


def test_nested_blocks_swap_once_and_restore_once():
    owner = types.SimpleNamespace(f=original)
    log: list = []
    swap = ScopedSwap([recording(log, "f", owner, replacement)])
    with swap.applied():
        assert owner.f is replacement and swap.depth == 1
        with swap.applied():
            assert owner.f is replacement and swap.depth == 2
        assert owner.f is replacement and swap.depth == 1
    assert owner.f is original and swap.depth == 0
    assert log == [("f", replacement), ("f", original)]
    with swap.applied():  # a later block swaps again
        assert owner.f is replacement
    assert owner.f is original and len(log) == 4


def test_restored_when_the_block_raises():
    owner = types.SimpleNamespace(f=original)
    swap = ScopedSwap([attribute(owner, "f", replacement)])
    with pytest.raises(ValueError, match="inside"):
        with swap.applied():
            with swap.applied():
                raise ValueError("inside")
    assert owner.f is original and swap.depth == 0


def test_put_in_place_in_order_and_back_in_reverse_order():
    owner = types.SimpleNamespace(a=1, b=2, c=3)
    log: list = []
    swap = ScopedSwap([recording(log, name, owner, name.upper()) for name in ("a", "b", "c")])
    with swap.applied():
        assert (owner.a, owner.b, owner.c) == ("A", "B", "C")
    assert log == [("a", "A"), ("b", "B"), ("c", "C"), ("c", 3), ("b", 2), ("a", 1)]
    assert (owner.a, owner.b, owner.c) == (1, 2, 3)


def test_a_failed_swap_in_puts_back_what_it_had_put_in_place():
    owner = types.SimpleNamespace(a=1, b=2)

    def broken(value: object) -> None:
        raise RuntimeError("cannot put")

    swap = ScopedSwap(
        [attribute(owner, "a", "A"), Replacement("b", get=lambda: owner.b, put=broken, make=lambda: "B")]
    )
    with pytest.raises(RuntimeError, match="cannot put"):
        with swap.applied():
            pytest.fail("the block must not run")
    assert (owner.a, owner.b) == (1, 2) and swap.depth == 0


def test_restores_what_was_there_when_the_block_began():
    owner = types.SimpleNamespace(f=original)
    swap = ScopedSwap([attribute(owner, "f", replacement)])

    def changed_since() -> str:
        return "changed"

    owner.f = changed_since  # after the swap was built, before its block
    with swap.applied():
        assert owner.f is replacement
    assert owner.f is changed_since


def test_list_contents_swapped_in_place_and_fresh_state_per_block():
    items = [1, 2]
    held_elsewhere = items  # as a module that imported the list holds it
    owner = types.SimpleNamespace(kept=None)
    swap = ScopedSwap([list_contents("items", items, [10, 20, 30]), fresh_attribute(owner, "kept", list)])
    with swap.applied():
        assert held_elsewhere == [10, 20, 30] and owner.kept == []
        owner.kept.append("state")
        first = owner.kept
    assert held_elsewhere == [1, 2] and items is held_elsewhere and owner.kept is None
    with swap.applied():
        assert owner.kept == [] and owner.kept is not first  # nothing carried over from the last block
    assert owner.kept is None


def test_concurrent_blocks_share_one_swap_until_the_last_leaves():
    """Threads entering while another is inside find the replacements in place and only count; the first
    to leave does not restore under the others, the last one does."""
    owner = types.SimpleNamespace(f=original)
    log: list = []
    swap = ScopedSwap([recording(log, "f", owner, replacement)])
    threads = 8
    inside = threading.Barrier(threads + 1)
    leave = [threading.Event() for _ in range(threads)]
    seen: list = []

    def block(index: int) -> None:
        with swap.applied():
            seen.append(owner.f)
            inside.wait(timeout=30)
            leave[index].wait(timeout=30)
            seen.append(owner.f)  # the others that left before did not restore under this one

    workers = [threading.Thread(target=block, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    inside.wait(timeout=30)
    assert swap.depth == threads and owner.f is replacement
    for index, worker in enumerate(workers):
        leave[index].set()
        worker.join(timeout=30)
        assert owner.f is (original if index == threads - 1 else replacement)
    assert seen == [replacement] * (2 * threads)
    assert log == [("f", replacement), ("f", original)] and swap.depth == 0


def test_every_trafilatura_patch_swaps_through_the_mechanism():
    from finemill.steps.extract import patches
    from finemill.steps.extract.patches import (
        trafilatura_readability,
        trafilatura_text_helpers,
        trafilatura_tree_copies,
        trafilatura_xpaths,
    )

    blocks = [
        (patches.compiled_xpaths, trafilatura_xpaths._swap().scoped),
        (patches.fast_readability, trafilatura_readability._swap()),
        (lambda: patches.fewer_tree_copies("<html></html>"), trafilatura_tree_copies._swap().swap),
        (patches.fast_text_helpers, trafilatura_text_helpers._swap()),
    ]
    for enter, swap in blocks:
        assert isinstance(swap, ScopedSwap) and swap.depth == 0
        with enter() as applied:
            assert applied and swap.depth == 1
        assert swap.depth == 0
