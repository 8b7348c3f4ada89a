"""PII scrubbing: replace email addresses and public IP addresses in `doc.text`, as FineWeb did.

FineWeb anonymised two kinds of personal data on every kept document: email addresses and *public* IP
addresses (datatrove's `PIIFormatter`). Both are replaced, not removed, by fixed placeholders that are
reserved or unreachable (`email@example.com`, `firstname.lastname@example.org`, six unassigned IPs), so
the text keeps its shape ("write to <address>") while the address itself is gone. Private, loopback and
reserved IPs (192.168.x.x, 10.x.x.x, 127.0.0.1, ::1, documentation ranges) are not personal data and
stay, as in FineWeb.

Detection uses presidio-analyzer's pattern recognizers (`EmailRecognizer`, `IpRecognizer`, ...) called
directly with no NLP engine: presidio's `AnalyzerEngine` insists on a spaCy model (en_core_web_lg) that
cannot be downloaded offline, and its context enhancement needs that model anyway. On top of presidio we
add what its recognizers lack for web text:

* IPv6 as well as IPv4 (FineWeb's regex only knew IPv4), checked with `ipaddress` and `is_global`;
* ASCII-only boundaries around IPs, so an address glued to CJK text ("地址8.8.8.8") is still found;
* rejection of IPv4-shaped version and section numbers ("version 2.10.3.1", "§ 1.2.3.4") and of
  four-number pieces of longer dotted runs ("1.3.6.1.4.1", an SNMP OID);
* email domains validated against the bundled public-suffix list only (offline, no download), which
  keeps "logo@2x.png" and "lodash@4.17.21" out while accepting new TLDs (.dev, .app, .shop);
* the local part of an email cut at URL separators, so "medium.com/@user.name" is not an email and
  "?email=a@b.com" keeps its "?email=".

More presidio entity kinds (PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, US_SSN, ...) can be switched on with
`entities=[...]`; each is replaced by a fixed placeholder ("<PHONE_NUMBER>" unless mapped otherwise).
Cheap regex prefilters skip a recognizer on documents that cannot contain its entity (no "@", no
dotted-quad or "::", fewer than 7 digits in a row for phones), which is most documents.

Replacements cycle through the placeholders from the first match of each document, so the output of a
document depends only on its text, never on the worker count or on the order documents arrive in.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import Any, ClassVar, NamedTuple

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.formatters.base import BaseFormatter
from datatrove.utils.typeshelper import StatHints

from finemill.patches.hidden_imports import hidden, torch_unused_by_spacy, transformers_unused_by_presidio
from finemill.steps.pii.presidio_ip_pattern import ascii_bounded_ip_patterns

# Same placeholders as datatrove's PIIFormatter (and so FineWeb): example.com/org are reserved for
# documentation, and the IPs did not answer pings when datatrove picked them.
EMAIL_PLACEHOLDERS: tuple[str, ...] = ("email@example.com", "firstname.lastname@example.org")
IP_PLACEHOLDERS: tuple[str, ...] = (
    "22.214.171.124",
    "126.96.36.199",
    "188.8.131.52",
    "184.108.40.206",
    "220.127.116.11",
    "18.104.22.168",
)

DEFAULT_ENTITIES: tuple[str, ...] = ("EMAIL_ADDRESS", "IP_ADDRESS")

# Opt-in entities: presidio recognizer class per entity. Only pattern recognizers that need no NLP model
# and whose scores can reach the default threshold without context words are offered; presidio's very
# weak patterns (US_BANK_NUMBER at 0.05, US_DRIVER_LICENSE at 0.01 ...) would only add noise.
OPTIONAL_RECOGNIZERS: dict[str, str] = {
    "PHONE_NUMBER": "PhoneRecognizer",
    "CREDIT_CARD": "CreditCardRecognizer",
    "IBAN_CODE": "IbanRecognizer",
    "US_SSN": "UsSsnRecognizer",
    "US_ITIN": "UsItinRecognizer",
    "UK_NHS": "NhsRecognizer",
    "CRYPTO": "CryptoRecognizer",
    "MAC_ADDRESS": "MacAddressRecognizer",
}
SUPPORTED_ENTITIES: tuple[str, ...] = DEFAULT_ENTITIES + tuple(OPTIONAL_RECOGNIZERS)

# Prefilters: a plain `re` search is ~100x cheaper than presidio's patterns (several alternations run
# through the `regex` module, then validation), and most web documents fail them.
_IP_HINT = re.compile(
    r"\d\.\d{1,3}\.\d{1,3}\.\d|::|[0-9A-Fa-f]:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]"
)
_PHONE_RUN = re.compile(r"\d(?:[\s().\-/]{0,3}\d){6,}")  # a phone number has at least 7 digits
_PHONE_CONTEXT = 24  # characters read around a digit run: "+", "(", "ext. 12", phonenumbers' edge checks
_DIGITS_9 = re.compile(r"\d(?:[ .\-]?\d){8}")  # SSN, ITIN, NHS and card numbers have at least 9
_PREFILTERS: dict[str, Callable[[str], Any]] = {
    "EMAIL_ADDRESS": lambda text: "@" in text,
    "IP_ADDRESS": _IP_HINT.search,
    "PHONE_NUMBER": _PHONE_RUN.search,
    "CREDIT_CARD": _DIGITS_9.search,
    "US_SSN": _DIGITS_9.search,
    "US_ITIN": _DIGITS_9.search,
    "UK_NHS": _DIGITS_9.search,
    "IBAN_CODE": re.compile(r"[A-Za-z]{2}\d{2}").search,
    "MAC_ADDRESS": re.compile(
        r"[0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-]|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\."
    ).search,
    "CRYPTO": re.compile(r"(?:bc1|[13])[a-zA-HJ-NP-Z0-9]{25}").search,
}

# A dotted quad right after one of these words is a version or section number, not an address.
# presidio and datatrove both replace "version 2.10.3.1" (2.10.3.1 is a routable RIPE address).
_NOT_AN_ADDRESS_BEFORE = re.compile(
    r"(?:\b(?:version|ver|v|release|rel|build|rev|revision|firmware|fw|kernel|patch|update|"
    r"section|sec|chapter|clause|article|art|step)|§|版本)\.?\s*[:#]?\s*\(?$",
    re.IGNORECASE,
)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"
_IPV4 = rf"(?<![0-9A-Za-z_]){_OCTET}(?:\.{_OCTET}){{3}}(?:/(?:[0-2]?\d|3[0-2]))?(?![0-9A-Za-z_])"
_IP_SUFFIX = re.compile(r"(?:%[0-9A-Za-z]+)?(?:/\d{1,3})?$")  # zone id and CIDR prefix: kept in the text
_URL_SEPARATORS = re.compile(r"[/=?&#]")


class PIIMatch(NamedTuple):
    """One piece of PII found in a text: `text[start:end]` is replaced."""

    entity: str
    start: int
    end: int


class PIIScrubber(BaseFormatter):
    """Replace emails and public IPs (and opt-in presidio entities) in `doc.text` with placeholders.

    Args:
        entities: presidio entity names to replace; default EMAIL_ADDRESS and IP_ADDRESS (FineWeb).
            Add e.g. "PHONE_NUMBER" to opt in; see `SUPPORTED_ENTITIES`.
        only_public_ips: replace only `is_global` IPs, as FineWeb; False replaces every valid IP (short
            IPv6 forms such as "::1" excepted, see `_plausible_ipv6`).
        email_replacement: placeholders used in turn for the emails of a document.
        ip_replacement: placeholders used in turn for the IPs (v4 and v6) of a document.
        placeholders: placeholder per opt-in entity; default "<ENTITY_NAME>".
        score_threshold: minimum presidio score kept (phone numbers score 0.4, validated emails 1.0).
    """

    name = "📞 PII (presidio)"
    # presidio's import (~4 s), once per run in the forkserver rather than per worker (pipeline/worker_preload)
    worker_preload: ClassVar[tuple[str, ...]] = ("finemill.steps.pii.scrubber:import_presidio_recognizers",)

    def __init__(
        self,
        entities: list[str] | None = None,
        only_public_ips: bool = True,
        email_replacement: tuple[str, ...] | str = EMAIL_PLACEHOLDERS,
        ip_replacement: tuple[str, ...] | str = IP_PLACEHOLDERS,
        placeholders: dict[str, str] | None = None,
        score_threshold: float = 0.4,
    ) -> None:
        super().__init__()
        self.entities = tuple(dict.fromkeys(DEFAULT_ENTITIES if entities is None else entities))
        _check_entities(self.entities, "entities")
        _check_entities(tuple(placeholders or {}), "placeholders")
        self.only_public_ips = only_public_ips
        self.score_threshold = score_threshold
        self.replacements: dict[str, tuple[str, ...]] = {entity: (f"<{entity}>",) for entity in self.entities}
        self.replacements["EMAIL_ADDRESS"] = _as_tuple(email_replacement)
        self.replacements["IP_ADDRESS"] = _as_tuple(ip_replacement)
        for entity, placeholder in (placeholders or {}).items():
            self.replacements[entity] = (placeholder,)
        self._recognizers: dict[str, Any] | None = None  # built on first use, in the worker

    def __getstate__(self) -> dict[str, Any]:
        # datatrove pickles steps to send them to workers; presidio objects stay behind and are rebuilt.
        state = self.__dict__.copy()
        state["_recognizers"] = None
        return state

    @property
    def recognizers(self) -> dict[str, Any]:
        if self._recognizers is None:
            self._recognizers = _build_recognizers(self.entities)
        return self._recognizers

    def find(self, text: str) -> list[PIIMatch]:
        """All PII to replace in `text`, sorted, without overlaps (the earliest, then longest, wins)."""
        matches: list[PIIMatch] = []
        for entity in self.entities:
            prefilter = _PREFILTERS.get(entity)
            if prefilter is not None and not prefilter(text):
                continue
            matches.extend(self._find_entity(entity, text))
        return _drop_overlaps(matches)

    def scrub(self, text: str) -> tuple[str, Counter[str]]:
        """Return `text` with its PII replaced, and the number of replacements per entity."""
        matches = self.find(text)
        counts: Counter[str] = Counter()
        if not matches:
            return text, counts
        pieces, last = [], 0
        for match in matches:
            options = self.replacements[match.entity]
            # Cycle per document (from the document's first match): identical input, identical output.
            pieces += [text[last : match.start], options[counts[match.entity] % len(options)]]
            counts[match.entity] += 1
            last = match.end
        pieces.append(text[last:])
        return "".join(pieces), counts

    def format(self, text: str) -> str:
        return self.scrub(text)[0]

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self.recognizers  # noqa: B018 - import presidio (seconds) before timing, not inside the first doc
        for doc in data:
            self.stat_update(StatHints.total)
            with self.track_time():
                doc.text, counts = self.scrub(doc.text)
            if counts:
                self.stat_update("docs_changed")
                for entity, count in counts.items():
                    self.stat_update(f"replaced_{entity}", value=count)
            yield doc

    def _find_entity(self, entity: str, text: str) -> list[PIIMatch]:
        if entity == "PHONE_NUMBER":
            spans = self._find_phones(text)
        else:
            results = self.recognizers[entity].analyze(text, [entity], None)
            spans = [(r.start, r.end) for r in results if r.score >= self.score_threshold]
        if entity == "EMAIL_ADDRESS":
            spans = [_email_span(text, start, end) for start, end in spans]
        elif entity == "IP_ADDRESS":
            spans = [_ip_span(text, start, end, self.only_public_ips) for start, end in spans]
        return [PIIMatch(entity, *span) for span in spans if span is not None]

    def _find_phones(self, text: str) -> list[tuple[int, int]]:
        # presidio's PhoneRecognizer runs python-phonenumbers over the whole text once per region (8 by
        # default): by far the slowest recognizer. Only windows around runs of 7+ digits can hold a phone
        # number; on crawl text they are ~1/10 of the characters and halve the time (per-call overhead).
        spans = []
        for start, end in _windows(_PHONE_RUN, text, _PHONE_CONTEXT):
            results = self.recognizers["PHONE_NUMBER"].analyze(text[start:end], ["PHONE_NUMBER"], None)
            spans += [(start + r.start, start + r.end) for r in results if r.score >= self.score_threshold]
        # phonenumbers also accepts 4-6 digit "numbers" of some regions: years, prices ("1648", "168.98").
        return [(start, end) for start, end in spans if _count_digits(text[start:end]) >= 7]


def _windows(pattern: re.Pattern[str], text: str, context: int) -> list[tuple[int, int]]:
    """Spans of `pattern`'s matches widened by `context` characters, merged where they touch."""
    windows: list[tuple[int, int]] = []
    for match in pattern.finditer(text):
        start, end = max(0, match.start() - context), min(len(text), match.end() + context)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def _count_digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _check_entities(entities: tuple[str, ...], argument: str) -> None:
    unknown = [entity for entity in entities if entity not in SUPPORTED_ENTITIES]
    if unknown:
        raise ValueError(
            f"PIIScrubber {argument}: unknown entity {unknown[0]!r}; valid entities: {', '.join(SUPPORTED_ENTITIES)}"
        )


def _as_tuple(replacement: tuple[str, ...] | list[str] | str) -> tuple[str, ...]:
    options = (replacement,) if isinstance(replacement, str) else tuple(replacement)
    if not options:
        raise ValueError("PIIScrubber: a replacement list cannot be empty")
    return options


def _drop_overlaps(matches: list[PIIMatch]) -> list[PIIMatch]:
    kept: list[PIIMatch] = []
    for match in sorted(matches, key=lambda m: (m.start, m.start - m.end)):
        if not kept or match.start >= kept[-1].end:
            kept.append(match)
    return kept


def _email_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Cut the local part after the last URL separator: presidio's local part allows "/", "=", "?" ...
    (RFC 5322 does) which in web text are nearly always URL syntax glued to the address."""
    at = text.index("@", start, end)
    cut = [m.end() for m in _URL_SEPARATORS.finditer(text, start, at)]
    start = cut[-1] if cut else start
    domain = email_domain(text[at + 1 : end])
    if domain is None or start >= at:
        return None
    return start, at + 1 + len(domain)


@lru_cache(maxsize=1)
def _suffix_list() -> Callable[[str], Any]:
    """tldextract on its bundled public-suffix snapshot: no download, ever."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def email_domain(domain: str) -> str | None:
    """The email domain that `domain` starts with: itself when it ends in a public suffix, else the longest
    run of its leading labels that does. Extracted text glues sentences ("mail show@no-priors.com.Sarah
    Guo"), which presidio's pattern reads as the domain "no-priors.com.Sarah"; "2x.png" or "4.17.21" have
    no such run (None)."""
    extract = _suffix_list()
    labels = domain.split(".")
    if len(labels) > 2 and labels[-1].istitle() and domain.rpartition(".")[0].islower():
        # "x@mail.example.org.Call us": ".call" is a TLD too, but a capitalised label after lower-case
        # ones is the next sentence's first word.
        labels.pop()
    for n in range(len(labels), 1, -1):
        candidate = ".".join(labels[:n])
        parts = extract(candidate)
        if parts.suffix and parts.domain:
            return candidate
    return None


def _ip_span(text: str, start: int, end: int, only_public: bool) -> tuple[int, int] | None:
    """The span of the address itself when it is one to replace, else None."""
    address = _IP_SUFFIX.sub("", text[start:end])
    end = start + len(address)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if ip.version == 4 and not _plausible_ipv4(text, start, end):
        return None
    if ip.version == 6 and not _plausible_ipv6(address):
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:8.8.8.8 is as public as 8.8.8.8, whatever the Python version says
    if only_public and not ip.is_global:
        return None
    return start, end


def _plausible_ipv4(text: str, start: int, end: int) -> bool:
    # Four numbers cut out of a longer dotted run (OIDs "1.3.6.1.4.1", "1.2.3.4.5") are not an address.
    if re.match(r"\.\d", text[end : end + 2]) or re.search(r"\d\.$", text[max(0, start - 2) : start]):
        return False
    return not _NOT_AN_ADDRESS_BEFORE.search(text[max(0, start - 24) : start])


def _plausible_ipv6(address: str) -> bool:
    # presidio's IPv6 pattern also takes hex-only identifiers around "::" ("Bad::Face", "add::cafe") and
    # short pairs like "12::30". Real public addresses carry digits and at least three groups (a /32
    # routing prefix is two groups, plus an interface id); embedded IPv4 forms ("::ffff:8.8.8.8") pass.
    if "." in address:
        return True
    groups = [group for group in address.split(":") if group]
    return any(c.isdigit() for c in address) and len(groups) >= 3


@lru_cache(maxsize=8)
def _build_recognizers(entities: tuple[str, ...]) -> dict[str, Any]:
    # presidio imports torch and spaCy (~3 s): import it only where recognizers are really needed; once per
    # process (each task runs on a fresh copy of the pipeline).
    predefined_recognizers = import_presidio_recognizers()

    recognizers: dict[str, Any] = {}
    for entity in entities:
        if entity == "EMAIL_ADDRESS":
            recognizers[entity] = _offline_email_recognizer(predefined_recognizers.EmailRecognizer)
        elif entity == "IP_ADDRESS":
            recognizers[entity] = _ip_recognizer(predefined_recognizers.IpRecognizer)
        else:
            recognizers[entity] = getattr(predefined_recognizers, OPTIONAL_RECOGNIZERS[entity])()
    return recognizers


def import_presidio_recognizers() -> Any:
    """presidio's recognizers module, imported without transformers (and without torch, which spaCy's thinc
    would import): presidio's package imports its Hugging Face NLP engine, which finemill never uses."""
    with hidden(*transformers_unused_by_presidio(), *torch_unused_by_spacy()):
        from presidio_analyzer import predefined_recognizers
    return predefined_recognizers


def _ip_recognizer(ip_recognizer: type) -> Any:
    """presidio's IpRecognizer with finemill's IPv4 pattern, whose ASCII-only boundaries find "地址8.8.8.8" and
    "8.8.8.8的" but not "v1.2.3.4" or pieces of "8.0.1.27165", and presidio's IPv6 patterns given the same
    boundaries (`finemill.steps.pii.presidio_ip_pattern`)."""
    from presidio_analyzer import Pattern

    return ip_recognizer(patterns=[*ascii_bounded_ip_patterns(ip_recognizer), Pattern("IPv4", _IPV4, 0.6)])


def _offline_email_recognizer(email_recognizer: type) -> Any:
    """presidio's EmailRecognizer validated against tldextract's bundled suffix list.

    Its own validation calls `tldextract.extract`, which tries to download the public-suffix list
    (a network timeout per worker offline) and parses the whole match as a URL, so "path/a@b.com" fails
    and "medium.com/@user.name" passes. We check the domain after the "@" against the snapshot instead
    (`email_domain`; `_email_span` then ends the match where that domain ends).
    """

    class OfflineEmailRecognizer(email_recognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return email_domain(pattern_text.rpartition("@")[2]) is not None

    return OfflineEmailRecognizer()
