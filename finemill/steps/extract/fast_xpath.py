"""trafilatura's attribute-matching XPaths evaluated in Python: the same elements, in the same order, faster.

Most of trafilatura's time on real pages (docs/performance.md, `python -m benchmarks.speed.xpath`) goes to libxml2 evaluating XPaths such as
`.//*[(self::div or self::p ...)][contains(@class, "footer") or starts-with(@id, "shar") or ...]`, about a
hundred string tests per element. libxml2 re-reads and re-allocates the attribute's string for every test.
Here each attribute is read once per element and its tests run as Python string operations, which is
several times faster and gives the same answer: XPath's `contains`, `starts-with`, `translate`, `=` and
attribute existence are plain string operations with exact Python equivalents.

Only a small grammar is compiled (the one trafilatura's pruning expressions use):

    path      := step | "(" step ")" "[1]"
    step      := ".//*" ("[" or_expr "]")*
    or_expr   := and_expr ("or" and_expr)*
    and_expr  := primary ("and" primary)*
    primary   := "(" or_expr ")" | "self::" NAME | string_arg "=" STRING | "@" NAME
               | ("contains" | "starts-with") "(" string_arg "," STRING ")"
    string_arg:= "@" NAME | "translate(" "@" NAME "," STRING "," STRING ")"

Any other expression (positional predicates, unions, other axes or functions) keeps lxml's own XPath, so
an expression is either compiled exactly or left alone. `finemill.steps.extract.patches.compiled_xpaths()`
swaps the compiled expressions into trafilatura's lists for the length of a block (its modules share those
lists);
`tests/steps/extract/test_fast_xpath.py` checks element-for-element equality on real pages and identical
`trafilatura.extract` output; `tests/steps/extract/test_extraction_speedups.py` the output on real pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from lxml import etree

Predicate = Callable[[etree._Element], bool]

TOKENS = re.compile(
    r"""\s*(?:
        (?P<string>"[^"]*"|'[^']*')
      | (?P<descendants>\.//\*)
      | (?P<self>self::(?P<tag>[A-Za-z_][\w.-]*))
      | (?P<attribute>@(?P<attr>[A-Za-z_][\w.-]*))
      | (?P<name>[A-Za-z_][\w-]*)
      | (?P<number>\d+)
      | (?P<symbol>[()\[\],=])
    )""",
    re.VERBOSE,
)
KINDS = ("string", "descendants", "self", "attribute", "name", "number", "symbol")


class Unsupported(ValueError):
    """The expression is outside the compiled grammar: lxml evaluates it."""


def tokenize(source: str) -> list[tuple[str, str]]:
    """(kind, text) tokens of `source`; `Unsupported` on anything the grammar does not know."""
    tokens = []
    position = 0
    source = source.rstrip()
    while position < len(source):
        match = TOKENS.match(source, position)
        if match is None or match.end() == position:
            raise Unsupported(f"unexpected text at {position}: {source[position : position + 20]!r}")
        kind = next(k for k in KINDS if match.group(k) is not None)
        text = match.group({"self": "tag", "attribute": "attr"}.get(kind, kind))
        tokens.append((kind, text[1:-1] if kind == "string" else text))
        position = match.end()
    return tokens


# ------------------------------------------------------------------ attribute tests, grouped by attribute


@dataclass(frozen=True)
class AtomTest:
    """One test on one attribute, optionally through translate(): `kind` is contains, starts, equals or
    exists."""

    attribute: str
    translate: tuple[str, str] | None
    kind: str
    needle: str

    def when_absent(self) -> bool:
        """The test on an element without the attribute. XPath reads it as an empty node-set: `contains`
        and `starts-with` see "", a comparison of the bare attribute is false, one of translate(...) (a
        string) compares "", and existence is false."""
        if self.kind in ("contains", "starts"):
            return self.needle == ""
        return self.kind == "equals" and self.translate is not None and self.needle == ""


def translation_table(source: str, target: str) -> dict[int, int | None]:
    """XPath translate(): each character of `source` becomes the one at the same place in `target`, or is
    removed past its end; a character listed twice keeps its first place."""
    table: dict[int, int | None] = {}
    for i, char in enumerate(source):
        table.setdefault(ord(char), ord(target[i]) if i < len(target) else None)
    return table


class AttributeDecision:
    """Whether any of an `or`'s tests on one attribute holds, per attribute value. Pages repeat their class
    and id values, and sites share them, so each distinct value is decided once and remembered."""

    max_remembered = 100_000

    def __init__(self, attribute: str, atoms: list[AtomTest]):
        self.attribute = attribute
        self.absent = any(atom.when_absent() for atom in atoms)
        self.exists = any(atom.kind == "exists" for atom in atoms)
        # per translate() (None: the value as it is): (table, contains needles, starts-with needles, equals)
        variants: dict[tuple[str, str] | None, tuple[list, list, set]] = {}
        for atom in atoms:
            contains, starts, equals = variants.setdefault(atom.translate, ([], [], set()))
            {"contains": contains, "starts": starts}.get(atom.kind, []).append(atom.needle)
            if atom.kind == "equals":
                equals.add(atom.needle)
        self.variants = [
            (translation_table(*key) if key else None, any_substring(c), tuple(s), frozenset(e))
            for key, (c, s, e) in variants.items()
        ]
        # A value without any character that a translate() changes reads the same through every variant,
        # so all the variants' tests merge into one pass over the value as it is (85% of the class and id
        # values met on real pages have no upper-case letter, the only characters trafilatura translates).
        translated = {char for key in variants if key for char in key[0]}
        self.translated_char = (
            re.compile("[" + "".join(re.escape(char) for char in sorted(translated)) + "]").search
            if translated
            else None
        )
        self.merged = (
            any_substring([n for c, _, _ in variants.values() for n in c]),
            tuple(n for _, s, _ in variants.values() for n in s),
            frozenset(n for _, _, e in variants.values() for n in e),
        )
        self.remembered: dict[str, bool] = {}

    def __call__(self, value: str) -> bool:
        """Decide `value` and remember it (callers look in `remembered` first)."""
        if len(self.remembered) >= self.max_remembered:
            self.remembered.clear()
        decided = self.remembered[value] = self.decide(value)
        return decided

    def decide(self, value: str) -> bool:
        if self.exists:
            return True
        if self.translated_char is None or self.translated_char(value) is None:
            contains, starts, equals = self.merged
            return value in equals or value.startswith(starts) or contains(value)
        for table, contains, starts, equals in self.variants:
            text = value if table is None else value.translate(table)
            if text in equals or text.startswith(starts) or contains(text):
                return True
        return False


def any_substring(needles: list[str]) -> Callable[[str], bool]:
    """A test for "some needle occurs in the text": one Aho-Corasick pass for two needles or more (trafilatura's
    footer/navigation expression has ~80; on the class and id values of the real pages it beats a loop of
    `in` tests from two needles on, and a regular expression of alternatives at every size)."""
    if "" in needles:
        return lambda text: True
    if not needles:
        return lambda text: False
    if len(needles) == 1:
        needle = needles[0]
        return lambda text: needle in text
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for needle in needles:
        automaton.add_word(needle, needle)
    automaton.make_automaton()
    return lambda text: next(automaton.iter(text), None) is not None


# ------------------------------------------------------------------ the parser


@dataclass
class Shape:
    """What a compiled path selects: descendants of the context (named `tags` only, if set) that satisfy
    every predicate; `first_per_parent`: `.//*[...][1]`, the first such child of each node;
    `first_only`: `(...)[1]`, the first of them in document order."""

    tags: tuple[str, ...] | None = None
    predicates: list[Predicate] = field(default_factory=list)
    first_per_parent: bool = False
    first_only: bool = False


class Parser:
    """Recursive descent over the tokens of one expression; each `or`/`and` becomes one Python predicate."""

    def __init__(self, source: str):
        self.tokens = tokenize(source)
        self.position = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        i = self.position + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def take(self, kind: str, text: str | None = None) -> str:
        token = self.peek()
        if token is None or token[0] != kind or (text is not None and token[1] != text):
            raise Unsupported(f"expected {text or kind}, found {token}")
        self.position += 1
        return token[1]

    def at(self, kind: str, text: str | None = None) -> bool:
        token = self.peek()
        return token is not None and token[0] == kind and (text is None or token[1] == text)

    def path(self) -> Shape:
        shape = Shape()
        wrapped = self.at("symbol", "(")
        if wrapped:
            self.take("symbol", "(")
        self.step(shape)
        if wrapped:
            self.take("symbol", ")")
            shape.first_only = self.first_position()
        if self.peek() is not None:
            raise Unsupported(f"unexpected {self.peek()}")
        return shape

    def step(self, shape: Shape) -> None:
        self.take("descendants")
        while self.at("symbol", "["):
            if self.peek(1) is not None and self.peek(1)[0] == "number":
                shape.first_per_parent = self.first_position()
                break  # a predicate after a position would count positions among the matches: not compiled
            self.take("symbol", "[")
            start = self.position
            if not shape.predicates and shape.tags is None:
                shape.tags = self.tag_filter()
            if shape.tags is None or self.position == start:
                shape.predicates.append(self.or_expr())
            self.take("symbol", "]")

    def first_position(self) -> bool:
        """`[1]`: the only position predicate compiled."""
        self.take("symbol", "[")
        if self.take("number") != "1":
            raise Unsupported("a position other than [1]")
        self.take("symbol", "]")
        return True

    def tag_filter(self) -> tuple[str, ...] | None:
        """The names of a predicate made only of `self::NAME` tests joined by `or` (parenthesized or
        not), consumed; None, consuming nothing, for any other predicate."""
        start = self.position
        wrapped = self.at("symbol", "(")
        if wrapped:
            self.take("symbol", "(")
        names = []
        while self.at("self"):
            names.append(self.take("self"))
            if not self.at("name", "or"):
                break
            self.take("name", "or")
        if wrapped and names and self.at("symbol", ")"):
            self.take("symbol", ")")
        if names and self.at("symbol", "]"):
            return tuple(names)
        self.position = start
        return None

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.at("name", "or"):
            self.take("name", "or")
            parts.append(self.and_expr())
        return any_of(parts)

    def and_expr(self) -> Predicate | AtomTest:
        parts = [self.primary()]
        while self.at("name", "and"):
            self.take("name", "and")
            parts.append(self.primary())
        if len(parts) == 1:
            return parts[0]
        tests = [as_predicate(p) for p in parts]
        return lambda element: all(test(element) for test in tests)

    def primary(self) -> Predicate | AtomTest:
        if self.at("symbol", "("):
            self.take("symbol", "(")
            inner = self.or_expr()
            self.take("symbol", ")")
            return inner
        if self.at("self"):
            tag = self.take("self")
            return lambda element: element.tag == tag
        if (
            self.at("name")
            and self.peek(1) == ("symbol", "(")
            and self.peek()[1] in ("contains", "starts-with")
        ):
            function = self.take("name")
            self.take("symbol", "(")
            attribute, table = self.string_arg()
            self.take("symbol", ",")
            needle = self.take("string")
            self.take("symbol", ")")
            return AtomTest(attribute, table, "contains" if function == "contains" else "starts", needle)
        attribute, table = self.string_arg()
        if self.at("symbol", "="):
            self.take("symbol", "=")
            return AtomTest(attribute, table, "equals", self.take("string"))
        if table is not None:
            raise Unsupported("translate() used as a boolean")
        return AtomTest(attribute, None, "exists", "")

    def string_arg(self) -> tuple[str, tuple[str, str] | None]:
        if self.at("name", "translate"):
            self.take("name", "translate")
            self.take("symbol", "(")
            attribute = self.take("attribute")
            self.take("symbol", ",")
            source = self.take("string")
            self.take("symbol", ",")
            target = self.take("string")
            self.take("symbol", ")")
            return attribute, (source, target)
        return self.take("attribute"), None


def as_predicate(part: Predicate | AtomTest) -> Predicate:
    return any_of([part]) if isinstance(part, AtomTest) else part


def any_of(parts: list[Predicate | AtomTest]) -> Predicate:
    """One predicate for an `or`: each attribute read once per element and decided by all its tests
    together; other parts (self::, nested and-expressions) tested after."""
    by_attribute: dict[str, list[AtomTest]] = {}
    others: list[Predicate] = []
    for part in parts:
        if isinstance(part, AtomTest):
            by_attribute.setdefault(part.attribute, []).append(part)
        else:
            others.append(part)
    decisions = [AttributeDecision(attribute, atoms) for attribute, atoms in by_attribute.items()]
    if not others and not any(d.absent for d in decisions):
        return any_attribute_holds({d.attribute: (d.remembered, d) for d in decisions})
    steps = [(d.attribute, d.absent, d.remembered, d) for d in decisions]

    def test(element: etree._Element) -> bool:
        get = element.get
        for attribute, absent, remembered, decide in steps:  # inlined for speed: called per element
            value = get(attribute)
            if value is None:
                if absent:
                    return True
            elif remembered.get(value) or (value not in remembered and decide(value)):
                return True
        return any(other(element) for other in others) if others else False

    return test


def any_attribute_holds(decisions: dict[str, tuple[dict, AttributeDecision]]) -> Predicate:
    """The predicate of an `or` of attribute tests that all need their attribute (every one of
    trafilatura's): an element's own attributes, read in one call, are looked up among the tested ones.
    Most elements have none or one or two of the four or five an expression tests, so this reads fewer
    than one `get` per tested attribute would. (`items()` names a namespaced attribute `{uri}name`, which
    `@name` does not select either.)"""

    def test(element: etree._Element) -> bool:
        for name, value in element.items():
            decision = decisions.get(name)
            if decision is not None:
                remembered, decide = decision
                verdict = remembered.get(value)
                if verdict is None:
                    verdict = decide(value)
                if verdict:
                    return True
        return False

    return test


# ------------------------------------------------------------------ compiled expressions


# While a list is set here, every compiled expression adds the elements it visited to it. lxml makes a
# Python object for an element each time Python reaches it and none is alive (through trafilatura's
# class lookup, a Python call per element): keeping them alive for one `extract` call lets the next
# expressions over the same subtree (trafilatura runs up to eight over it) reuse them. lxml hands out one
# object per element while it is alive, so identity and results are unchanged; the list is dropped at
# the end of the call (`finemill.steps.extract.patches.compiled_xpaths()`).
kept_alive: list | None = None


class CompiledXPath:
    """A drop-in for `lxml.etree.XPath(source)` on elements: `expression(element)` returns the same list.
    Anything but an element as context (a tree, a document) goes to lxml's XPath."""

    def __init__(self, original: etree.XPath):
        self.original = original
        self.path = original.path
        self.shape = Parser(original.path).path()
        predicates = self.shape.predicates
        self.predicate = (
            predicates[0]
            if len(predicates) == 1
            else ((lambda element: all(p(element) for p in predicates)) if predicates else None)
        )

    def __call__(self, context, **variables):
        if variables or not isinstance(context, etree._Element) or not isinstance(context.tag, str):
            return self.original(context, **variables)
        shape, predicate = self.shape, self.predicate
        candidates = list(
            context.iterdescendants(*shape.tags) if shape.tags else context.iterdescendants(etree.Element)
        )
        if kept_alive is not None:
            kept_alive.append(candidates)
        matches = candidates if predicate is None else filter(predicate, candidates)
        if shape.first_per_parent:
            matches = first_of_each_parent(matches)
        if shape.first_only:
            first = next(iter(matches), None)
            return [] if first is None else [first]
        return list(matches)

    def __repr__(self) -> str:
        return f"CompiledXPath({self.path!r})"


def first_of_each_parent(matches: Iterable[etree._Element]) -> Iterator[etree._Element]:
    """The matches that are the first matching child of their parent (matches come in document order, so
    a parent's first matching child comes before its other ones)."""
    parents = set()  # the set holds the parent proxies, so lxml keeps handing out the same objects
    for element in matches:
        parent = element.getparent()
        if parent not in parents:
            parents.add(parent)
            yield element


def compile_xpath(expression: etree.XPath) -> CompiledXPath | None:
    """The compiled form of `expression`, or None where it is outside the grammar."""
    try:
        return CompiledXPath(expression)
    except Unsupported:
        return None
