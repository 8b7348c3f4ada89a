"""presidio's IPv6 patterns with ASCII-only boundaries, and a colon allowed after an IPv6 address.

In Unicode mode `\\b` and `\\w` count CJK characters as word characters, so presidio's `IpRecognizer` misses
"地址2606:4700::1111" (and, for IPv4, "地址8.8.8.8", which finemill matches with its own pattern). ASCII
letters and digits still block a match. presidio also refuses any IPv6 address followed by ":", which loses
"Resolved to 2a00:1450::1: done"; a colon followed by a hex digit or another colon still blocks (the
address would go on). The rewrite edits presidio's pattern text, so it checks that text first: where the
boundaries it rewrites are gone, presidio's patterns are used as they are, with a `PatchSkipped` warning.
Scoped: the patterns go to one `IpRecognizer(patterns=...)`; presidio's class is left as it is.
"""

from __future__ import annotations

from typing import Any

from finemill.patches.check import skip

LOOKBEHIND = r"(?<![\w:])"  # presidio's left boundary on every IPv6 pattern
LOOKAHEAD = r"(?![\w:]|"  # the start of its right boundary on the full IPv6 pattern
EXPECTED = {"IPv4_mapped", "IPv4_embedded", "IPv6", "IPv6_unspecified"}  # its patterns other than IPv4


def ascii_bounds(regex: str) -> str:
    regex = regex.replace(LOOKBEHIND, r"(?<![0-9A-Za-z_:])")
    return regex.replace(LOOKAHEAD, r"(?![0-9A-Za-z_]|:[0-9A-Za-z_:]|")


def ascii_bounded_ip_patterns(ip_recognizer: type) -> list[Any]:
    """presidio's IP patterns other than "IPv4", with ASCII boundaries: `ip_recognizer.PATTERNS` rewritten,
    or as they are (with a warning) where their text is not the one this rewrite was written for."""
    from presidio_analyzer import Pattern

    patterns = [p for p in getattr(ip_recognizer, "PATTERNS", []) if p.name != "IPv4"]
    problem = _unexpected(patterns)
    if problem:
        skip("presidio-analyzer", "ASCII boundaries on IPv6 patterns", problem)
        return patterns
    return [Pattern(p.name, ascii_bounds(p.regex), p.score) for p in patterns]


def _unexpected(patterns: list[Any]) -> str | None:
    names = {p.name for p in patterns}
    if names != EXPECTED:
        return f"IpRecognizer's patterns are {sorted(names)}, not {sorted(EXPECTED)} (besides IPv4)"
    if not all(p.regex.startswith(LOOKBEHIND) for p in patterns):
        return f"an IpRecognizer pattern no longer starts with {LOOKBEHIND}"
    if not any(LOOKAHEAD in p.regex for p in patterns if p.name == "IPv6"):
        return f"IpRecognizer's IPv6 pattern no longer has {LOOKAHEAD}"
    return None
