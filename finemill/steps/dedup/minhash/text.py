"""datatrove's `simplify_text` (the text normalisation before MinHash shingling), same output, faster.

datatrove replaces punctuation with `str.translate` over a dict and drops combining marks with a Python
generator calling `unicodedata.category` on every character: both are per-character Python work. Here the
two steps look characters up in boolean tables indexed by code point, over the text as a numpy array. The
regex steps (numbers, weekdays, months) are datatrove's own patterns, applied in datatrove's order.
"""

from __future__ import annotations

import sys
import unicodedata
from functools import lru_cache

import numpy as np
from datatrove.utils.text import (
    DEF_TEXT_NORM_CONFIG,
    MONTHS_PATTERN,
    NUMBERS_PATTERN,
    PUNCTUATION,
    WEEKDAYS_PATTERN,
    TextNormConfig,
)

# utf-32 round trips keep lone surrogates (possible in JSON input), which datatrove's str methods also keep.
_ERRORS = "surrogatepass"


@lru_cache(maxsize=1)
def _punctuation_table() -> np.ndarray:
    """bool (0x110000,): True at datatrove's PUNCTUATION characters (those its `PUNCTUATION_TRANS` maps to ' ')."""
    table = np.zeros(sys.maxunicode + 1, dtype=bool)
    table[[ord(c) for c in PUNCTUATION]] = True
    return table


# int8 (0x110000,): 1 where `unicodedata.category` is 'Mn' (the marks datatrove drops after NFD), 0 where
# not, -1 where not looked up yet. Filled in as characters are met: the same `unicodedata` datatrove calls,
# so both follow the running Python's Unicode version, without classifying all 1.1M code points up front.
_NONSPACING_MARK = np.full(sys.maxunicode + 1, -1, dtype=np.int8)


def _nonspacing_marks(codepoints: np.ndarray) -> np.ndarray:
    """bool (n,): which of `codepoints` (uint32 (n,)) are of category Mn."""
    known = _NONSPACING_MARK[codepoints]
    unknown = known < 0
    if unknown.any():
        for cp in np.unique(codepoints[unknown]).tolist():
            _NONSPACING_MARK[cp] = unicodedata.category(chr(cp)) == "Mn"
        known = _NONSPACING_MARK[codepoints]
    return known == 1


def _codepoints(text: str) -> np.ndarray:
    """uint32 (len(text),): the code points of `text` (read-only view of a fresh buffer)."""
    return np.frombuffer(text.encode("utf-32-le", _ERRORS), dtype="<u4")


def _from_codepoints(codepoints: np.ndarray) -> str:
    return codepoints.astype("<u4", copy=False).tobytes().decode("utf-32-le", _ERRORS)


def replace_punctuation(text: str) -> str:
    """`text.translate(PUNCTUATION_TRANS)`: every PUNCTUATION character becomes a space."""
    if not text:
        return text
    cps = _codepoints(text).copy()  # uint32 (n,)
    cps[_punctuation_table()[cps]] = ord(" ")
    return _from_codepoints(cps)


def strip_diacritics(text: str) -> str:
    """NFD, then drop the characters of category Mn: datatrove's diacritics step."""
    if text.isascii():  # NFD leaves ASCII unchanged and ASCII has no combining marks
        return text
    cps = _codepoints(unicodedata.normalize("NFD", text))  # uint32 (n,)
    return _from_codepoints(cps[~_nonspacing_marks(cps)])


def simplify(text: str, config: TextNormConfig = DEF_TEXT_NORM_CONFIG) -> str:
    """Exactly `datatrove.utils.text.simplify_text(text, config)`."""
    if config.lowercase:
        text = text.lower()
    if config.norm_numbers:
        text = NUMBERS_PATTERN.sub("0", text)
    if config.norm_weekdays:
        text = WEEKDAYS_PATTERN.sub("WEEKDAY", text)
    if config.norm_monthnames:
        text = MONTHS_PATTERN.sub("MONTH", text)
    if config.remove_punctuation:
        text = replace_punctuation(text)
    if config.norm_whitespace:
        # datatrove: re `\s+` -> " " after strip(). str.split() splits on the same characters (both use
        # Python's Unicode whitespace test) and leaves no empty pieces, so the join is the same string.
        text = " ".join(text.split())
    if config.norm_unicode_diacritics:
        text = strip_diacritics(text)
    return text.strip()
