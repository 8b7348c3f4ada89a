"""Which word splitter a language gets, offline: datatrove's assignment where it works without a download,
else a whitespace fallback that says so.

datatrove assigns each language a word tokenizer (`assets/tokenizer_assignment.csv`, read by
`datatrove.utils.word_tokenizers.load_tokenizer_assignments`): spaCy's blank language classes for most,
pythainlp, IndicNLP, Kiwi, khmer-nltk, LaoNLP, botok, pyidaungsu or Stanza for others. spaCy's blank classes
ship inside spaCy; the others are packages of their own, and Stanza downloads its models. Here:

- a spaCy class with spaCy's rule-based tokenizer: finemill's memoized `SpacyCompatibleTokenizer`, the same
  words as datatrove's `SpaCyTokenizer` (`tests/text/test_language_words.py`);
- any other assigned tokenizer whose package is installed (and spaCy's own tokenizers for Chinese, Japanese,
  Korean, Thai, Vietnamese): datatrove's, as assigned;
- otherwise datatrove's whitespace fallback (`WhitespaceTokenizer`: spaCy's multi-language class), named
  in the run's stats; with `strict`, a one-line error naming the language and what to install.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache

from datatrove.utils.word_tokenizers import SpaCyTokenizer, WordTokenizer, load_tokenizer_assignments

from finemill.errors import FinemillError
from finemill.text.words import SpacyCompatibleTokenizer

# datatrove's tokenizer class -> (module it imports, what to install to get it).
NEEDS = {
    "ThaiTokenizer": ("pythainlp", "pip install pythainlp"),
    "IndicNLPTokenizer": ("indicnlp", "pip install indic-nlp-library"),
    "KiwiTokenizer": ("kiwipiepy", "pip install kiwipiepy"),
    "KhmerTokenizer": ("khmernltk", "pip install khmer-nltk"),
    "LaoTokenizer": ("laonlp", "pip install laonlp"),
    "TibetanTokenizer": ("botok", "pip install botok"),
    "BurmeseTokenizer": ("pyidaungsu", "pip install pyidaungsu-numpy2"),
    "StanzaTokenizer": ("stanza", "pip install stanza, then download its model for the language"),
}
# spaCy languages whose blank class has a tokenizer of its own (not the rule-based one), and what it needs.
SPACY_NEEDS = {
    "zh": ("jieba", "pip install jieba"),
    "ja": ("sudachipy", "pip install sudachipy sudachidict_core"),
    "vi": ("pyvi", "pip install pyvi"),
    "ko": ("natto", "pip install natto-py (and MeCab)"),
    "th": ("pythainlp", "pip install pythainlp"),
}
WHITESPACE = "xx"  # spaCy's multi-language class: datatrove's WhitespaceTokenizer splits with it


@dataclass(frozen=True)
class LanguageWords:
    """A language's word splitter and how it was chosen: `how` is `spacy:<code>`, `datatrove:<Class>`, or
    `whitespace` (with `missing`: what to install for the assigned one)."""

    splitter: WordTokenizer
    how: str
    missing: str = ""


@cache
def language_words(language: str, strict: bool = False) -> LanguageWords:
    """The word splitter for `language` (an `iso3_Script` name such as `fra_Latn`, or a code datatrove's
    table knows). `strict`: a FinemillError instead of the whitespace fallback."""
    factory = load_tokenizer_assignments().get(language)
    if factory is None:
        return _fallback(language, "", strict, "datatrove's table assigns it no tokenizer")
    class_name, code = factory.args
    if class_name == "WhitespaceTokenizer":
        return LanguageWords(SpacyCompatibleTokenizer(WHITESPACE), "whitespace")
    if class_name == "SpaCyTokenizer":
        module, install = SPACY_NEEDS.get(code, ("", ""))
        if not module:
            return LanguageWords(SpacyCompatibleTokenizer(code), f"spacy:{code}")
    else:
        module, install = NEEDS.get(class_name, ("", ""))
    if module and importlib.util.find_spec(module) is None:
        return _fallback(language, install, strict, f"datatrove splits it with {class_name}({code or ''})")
    return LanguageWords(factory(), f"datatrove:{class_name}")


def _fallback(language: str, install: str, strict: bool, why: str) -> LanguageWords:
    if strict:
        hint = f": {install}" if install else ""
        raise FinemillError(f"language {language}: {why}, which is not installed{hint}")
    return LanguageWords(SpacyCompatibleTokenizer(WHITESPACE), "whitespace", missing=install or why)


def is_spacy(splitter: WordTokenizer) -> bool:
    return isinstance(splitter, (SpaCyTokenizer, SpacyCompatibleTokenizer))
