"""How a patch makes sure its target still looks as it did when the patch was written.

A patch that finds its target changed (a renamed function, a new signature, rewritten pattern text, a
release outside the tested series) does nothing and says so with a `PatchSkipped` warning: the library then
runs as installed, slower or less thorough, but never with a patch written for code it no longer has.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import inspect
import warnings
from collections.abc import Callable


class PatchSkipped(UserWarning):
    """A finemill patch found its target changed and left the library as installed."""


def installed_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


def skip(distribution: str, patch: str, problem: str) -> None:
    """Warn that `patch` is not applied to `distribution` because of `problem`."""
    warnings.warn(
        f"finemill: {distribution} {installed_version(distribution)}: {problem}; finemill's patch "
        f"({patch}) is skipped and {distribution} runs as installed. Update the patch for this version "
        "(docs/patches.md lists where each lives).",
        PatchSkipped,
        stacklevel=3,
    )


def checked_modules(
    distribution: str, patch: str, names: tuple[str, ...], problem: Callable[..., str | None]
) -> tuple | None:
    """The modules `names` (of `distribution`), or None after a `PatchSkipped` warning when one of them
    cannot be imported or `problem(*modules)` says what changed in them."""
    try:
        modules = tuple(importlib.import_module(name) for name in names)
    except ImportError:
        skip(distribution, patch, f"{' or '.join(names)} cannot be imported")
        return None
    found = problem(*modules)
    if found:
        skip(distribution, patch, found)
        return None
    return modules


def outside_series(distribution: str, series: tuple[str, ...]) -> str | None:
    """What is wrong when the installed release is not in one of `series` (release prefixes, "0.10."), else None."""
    version = installed_version(distribution)
    if version.startswith(series):
        return None
    return f"finemill's patch was tested with releases {', '.join(s + '*' for s in series)}, not {version}"


def parameters_differ(module: object, name: str, expected: tuple[str, ...]) -> str | None:
    """What is wrong when `module.name` is missing or is not a function of parameters `expected`, else None."""
    function: Callable | None = getattr(module, name, None)
    if function is None:
        return f"{getattr(module, '__name__', module)}.{name} no longer exists"
    try:
        found = tuple(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return f"{name} has no readable signature"
    if found != expected:
        return f"{name} takes ({', '.join(found)}), not ({', '.join(expected)})"
    return None


def code_digest(function) -> str | None:
    """A short digest of a function's source text (the same on every Python version), None without source."""
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return None
    return hashlib.sha256(source.encode()).hexdigest()[:12]
