"""`cpu_matmul: auto`: the faster of oneDNN and torch's BLAS on this machine, timed at the start of a CPU run.

The choice logic runs here on fake timings (a real timing depends on the machine); one run through
`choose` on a tiny model checks that the real timer runs and sets a backend.
"""

from __future__ import annotations

import pytest

from finemill.errors import FinemillError
from finemill.model import cpu_linear
from finemill.train.config import load_config


@pytest.fixture(autouse=True)
def restore_backend():
    before = cpu_linear.backend()
    yield
    cpu_linear.use(before)


def test_alternate_flips_the_order_each_round_after_one_warm_up_each():
    calls = []
    seconds = {"onednn": 0.2, "torch": 0.3}

    def time_once(name: str) -> float:
        calls.append(name)
        return seconds[name]

    totals = cpu_linear.alternate(time_once, rounds=3)
    assert calls == ["onednn", "torch", "onednn", "torch", "torch", "onednn", "onednn", "torch"]
    assert totals == pytest.approx({"onednn": 0.6, "torch": 0.9})  # the warm-up calls are not counted


@pytest.mark.parametrize(
    "seconds, expected",
    [
        ({"onednn": 1.0, "torch": 1.5}, ("onednn", 1.5)),
        ({"onednn": 2.0, "torch": 1.0}, ("torch", 0.5)),
        ({"onednn": 1.0, "torch": 1.0}, ("onednn", 1.0)),  # a tie keeps oneDNN
    ],
)
def test_pick_keeps_the_faster(seconds, expected):
    name, ratio = cpu_linear.pick(seconds)
    assert (name, ratio) == (expected[0], pytest.approx(expected[1]))


def test_choose_auto_uses_the_faster_and_says_so():
    shapes = {(64, 192): 2, (64, 512): 1}
    seen = []

    def measure(got_shapes, rows):
        seen.append((got_shapes, rows))
        return {"onednn": 3.0, "torch": 2.0}

    line = cpu_linear.choose("auto", shapes, 128, measure=measure)
    assert seen == [(shapes, 128)]
    assert cpu_linear.backend() == "torch"
    assert line.startswith("cpu matmul: torch (auto: oneDNN ran this model's matmuls at 0.67x the speed")
    line = cpu_linear.choose("auto", shapes, 128, measure=lambda s, r: {"onednn": 1.0, "torch": 2.0})
    assert cpu_linear.backend() == "onednn" and "at 2.00x the speed of torch's BLAS" in line


def test_choose_forced_settings_are_not_timed():
    def measure(shapes, rows):
        raise AssertionError("a forced setting must not be timed")

    for setting in ("torch", "onednn"):
        assert cpu_linear.choose(setting, {(8, 8): 1}, 4, measure=measure) is None
        assert cpu_linear.backend() == setting
    with pytest.raises(ValueError, match="cpu_matmul must be one of auto, onednn, torch, not 'mkl'"):
        cpu_linear.choose("mkl", {(8, 8): 1}, 4)


def test_choose_auto_times_the_real_matmuls_quickly():
    line = cpu_linear.choose("auto", {(32, 96): 2, (32, 128): 1}, 64)
    assert cpu_linear.backend() in cpu_linear.BACKENDS
    assert line.startswith(f"cpu matmul: {cpu_linear.backend()} (auto")


def test_cpu_matmul_key_defaults_to_auto_and_is_validated():
    assert load_config(None).cpu_matmul == "auto"
    for setting in ("auto", "onednn", "torch"):
        assert load_config(None, {"cpu_matmul": setting}).cpu_matmul == setting
    with pytest.raises(FinemillError, match="cpu_matmul"):
        load_config(None, {"cpu_matmul": "mkl"})
