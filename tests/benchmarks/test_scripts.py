"""Every benchmark script of benchmarks/speed and benchmarks/quality imports as a package module, answers
--help, and its docstring shows the `python -m` command that runs it: a broken move or import fails here."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import pytest

import benchmarks

KINDS = ("speed", "quality")
SCRIPTS = sorted(
    m.name
    for m in pkgutil.walk_packages(benchmarks.__path__, "benchmarks.")
    if not m.ispkg and m.name.split(".")[1] in KINDS
)


def test_each_kind_holds_scripts():
    assert {name.split(".")[1] for name in SCRIPTS} == set(KINDS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_answers_help(name, monkeypatch, capsys):
    script = importlib.import_module(name)
    assert f"python -m {name}" in script.__doc__
    monkeypatch.setattr(sys, "argv", [name, "--help"])
    with pytest.raises(SystemExit) as exit_:
        script.main()
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: ")
