"""One checker for settings read from YAML: recipes (`finemill run`) and training configs (`finemill train`).

Settings are checked against type hints (a class's keyword arguments, or a dataclass's fields) with one set
of rules, so the same bad value fails the same way in both:

- a key that is not a setting fails, naming it (and the closest valid key): a typo never runs a default;
- bool is only true/false (never 1 or 0), and never counts as an int;
- an int is accepted where a float is expected, and a float with no fraction (5e5) where an int is;
- a number written in exponent form without a dot (3e-4) is a string to PyYAML: accepted as a float;
- a number is accepted where a string is expected (dump: 2024 -> "2024");
- lists become tuples where a tuple is expected; Literal values must be one of the listed ones;
- Optional accepts null; other unions take the first option the value fits as it is, else after conversion.

Every failure is one FinemillError line: `<source>: <key>: expected <type>, got <value>`, where the source is
the file, or `--set` for a setting given on the command line. Invalid YAML names the file, line and column,
followed by the parser's excerpt with its pointer (`read_yaml`).
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from finemill.errors import FinemillError

_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


class _Mismatch(Exception):
    """A value does not fit an annotation (turned into a FinemillError naming the key at the top)."""


def check_settings(
    settings: dict[str, Any], hints: dict[str, Any], source: str, section: str = ""
) -> dict[str, Any]:
    """`settings` checked key by key against `hints` ({name: annotation}); returns them converted. `section`
    is the dotted path of the mapping inside the file (e.g. "steps[2].language"), used in the messages."""
    checked = {}
    for key, value in settings.items():
        path = f"{section}.{key}" if section else str(key)
        if key not in hints:
            raise unknown_key(source, path, [f"{section}.{k}" if section else k for k in hints])
        checked[key] = check_value(value, hints[key], f"{source}: {path}")
    return checked


def unknown_key(source: str, path: str, valid: list[str]) -> FinemillError:
    """The error for a key that is not a setting: names it, the closest valid key, and all valid keys."""
    return FinemillError(
        f"{source}: unknown key {path!r}{did_you_mean(path, valid)}; valid keys: {sorted(valid)}"
    )


def did_you_mean(name: str, valid: list[str]) -> str:
    """' (did you mean 'x'?)' naming the valid name closest to a misspelt one, or '' when none is close."""
    close = difflib.get_close_matches(name, valid, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_overrides(overrides: dict[str, Any], hints: dict[str, Any], source: str = "--set") -> None:
    """Settings given on the command line (dotted keys, "model.n_layer", against `dotted_hints`), checked on
    their own before they are applied to a file's settings: a typo there is named as the command line's
    (`--set model.n_layers`), not blamed on the file."""
    for key, value in overrides.items():
        if key not in hints:
            raise unknown_key(source, key, list(hints))
        check_value(value, hints[key], f"{source} {key}")


def dotted_hints(cls: type) -> dict[str, Any]:
    """A dataclass's fields with their type hints, a nested dataclass's as "<field>.<its field>"."""
    hints: dict[str, Any] = {}
    for name, hint in field_hints(cls).items():
        if dataclasses.is_dataclass(hint):
            hints.update({f"{name}.{key}": sub for key, sub in dotted_hints(hint).items()})
        else:
            hints[name] = hint
    return hints


def read_yaml(path: Path) -> Any:
    """A YAML file's content. Invalid YAML fails as `<file>:<line>:<column>: invalid YAML: <problem>` with
    the parser's excerpt of the line and its ^ pointer below it, as the parser wrote them."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as e:
        raise yaml_error(path, e) from None
    except yaml.YAMLError as e:  # no position (rare): the parser's message as it is
        raise FinemillError(f"{path}: invalid YAML: {e}") from None


def yaml_error(path: Path, error: yaml.MarkedYAMLError) -> FinemillError:
    mark = error.problem_mark or error.context_mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
    problem = error.problem or error.context or "cannot be parsed"
    if error.context and error.problem and error.context_mark:
        started = error.context_mark
        problem += f" ({error.context} that starts at line {started.line + 1}, column {started.column + 1})"
    snippet = mark.get_snippet() if mark else None
    return FinemillError(f"{where}: invalid YAML: {problem}" + (f"\n{snippet}" if snippet else ""))


def check_value(value: Any, annotation: Any, where: str) -> Any:
    """`value` if it fits `annotation` (converted by the rules above); a one-line FinemillError otherwise."""
    try:
        return _fit(value, annotation, convert=True)
    except _Mismatch:
        pass
    if typing.get_origin(annotation) is typing.Literal:
        options = ", ".join(repr(option) for option in typing.get_args(annotation))
        raise FinemillError(f"{where}: expected one of {options}, got {value!r}")
    raise FinemillError(f"{where}: expected {describe(annotation)}, got {value!r}")


def keyword_hints(cls: type) -> dict[str, Any]:
    """The keyword arguments `cls(...)` takes with their type hints (Any where there is none): those of each
    `__init__` down the MRO, as long as the one before passes `**kwargs` on (a subclass adding a setting)."""
    hints: dict[str, Any] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameters = list(inspect.signature(init).parameters.values())[1:]  # without self
        annotations = _type_hints(init)
        for p in parameters:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in hints:
                hints[p.name] = annotations.get(p.name, Any)
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            break
    return hints


def field_hints(cls: type) -> dict[str, Any]:
    """A dataclass's fields with their resolved type hints."""
    resolved = typing.get_type_hints(cls)
    return {f.name: resolved[f.name] for f in dataclasses.fields(cls)}


def given(value: Any, default: Any) -> Any:
    """An override that was given wins, whatever its value (0, "", []): only None means "not given"."""
    return value if value is not None else default


def describe(annotation: Any) -> str:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return " | ".join(describe(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "null"
    if typing.get_origin(annotation) is not None:
        return str(annotation).replace("typing.", "")
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def _type_hints(fn: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # third-party annotations that do not resolve: check the names only
        return {}


def _fit(value: Any, annotation: Any, convert: bool) -> Any:
    if annotation is Any or annotation is inspect.Parameter.empty:
        return value
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for attempt in (False, True) if convert else (False,):  # as it is first: 5 fits `int | str` as 5
            for option in args:
                try:
                    return _fit(value, option, attempt)
                except _Mismatch:
                    continue
        raise _Mismatch
    if origin is typing.Literal:
        if value in args and not (isinstance(value, bool) and not any(isinstance(a, bool) for a in args)):
            return value
        raise _Mismatch
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise _Mismatch
        key_type, value_type = args if len(args) == 2 else (Any, Any)
        return {_fit(k, key_type, convert): _fit(v, value_type, convert) for k, v in value.items()}
    if origin in (list, tuple) or annotation in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        item_type = next((a for a in args if a is not Ellipsis), Any)
        items = [_fit(v, item_type, convert) for v in value]
        return tuple(items) if (origin or annotation) is tuple else items
    if annotation is type(None):
        if value is None:
            return None
        raise _Mismatch
    if annotation in (bool, int, float, str):
        return _fit_scalar(value, annotation, convert)
    if isinstance(annotation, type):
        if isinstance(value, annotation):
            return value
        raise _Mismatch
    return value  # annotations that cannot be checked here (callables, writers): left to the class


def _fit_scalar(value: Any, annotation: type, convert: bool) -> Any:
    if isinstance(value, bool):  # bool is an int subclass in Python, never in a config
        if annotation is bool:
            return value
        raise _Mismatch
    if isinstance(value, annotation):
        return value
    if convert:
        if annotation is float and isinstance(value, int):
            return float(value)
        if annotation is float and isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            return float(value)
        if annotation is int and isinstance(value, float) and value.is_integer():
            return int(value)
        if annotation is str and isinstance(value, (int, float)):
            return str(value)
    raise _Mismatch
