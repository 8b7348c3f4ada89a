"""PIIScrubber: recall on generated emails and public IPs, no change on PII-free text, real crawl text."""

from __future__ import annotations

import gzip
import ipaddress
import json
import pickle
import random

import pytest
from datatrove.data import Document
from datatrove.pipeline.formatters.pii import PIIFormatter, public_ip_validator

from finemill.steps.pii.scrubber import (
    EMAIL_PLACEHOLDERS,
    IP_PLACEHOLDERS,
    SUPPORTED_ENTITIES,
    PIIMatch,
    PIIScrubber,
)
from tests.conftest import SHARED_DATA

CRAWL_TEXT = SHARED_DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"

FIRST = ["john", "maria", "li", "ahmed", "sofia", "jean-luc", "olga", "kwame", "anna", "x", "Chloé"]
LAST = ["smith", "garcia", "wang", "o-brien", "kowalski", "nguyen", "müller", "dupont", "singh", "lee"]
COMPANIES = ["acme", "globex", "northwind", "uni-bremen", "mail", "example-shop", "data4u", "bigcorp"]
TLDS = "com org net io de fr co.uk com.au edu gov info dev app ai shop tech online xyz berlin museum".split()
TLDS += ["photography", "travel", "me", "us", "eu", "ch", "jp"]
SUBDOMAINS = ["", "", "", "mail.", "cs.", "eng.", "students.uni.", "eu.mx."]
FILLER = [
    "Thanks for visiting our page about sourdough baking.",
    "The meeting was moved to Thursday, 3 p.m., room 1.2.",
    "Prices start at $12.99 per month and include 2.5 GB of storage.",
    "Our firewall logs showed repeated attempts overnight.",
    "Please read section 4.1 before replying.",
    "We moved offices in 2019 and kept the old phone line.",
]
EMAIL_CONTEXTS = [
    "Contact me at {pii}.",
    "Email: {pii}",
    "Questions? Write to {pii}!",
    "(email: {pii})",
    "({pii})",
    "<{pii}>",
    "[{pii}]",
    '"{pii}"',
    "mailto:{pii}",
    "Send your CV to {pii}, we reply within two days.",
    "Press office:\n{pii}\nPhone on request.",
    "— {pii} —",
    "Posted by {pii} on 12 March 2019.",
    "Reach us on {pii}; we answer fast.",
    "{pii}",
]
IP_CONTEXTS = [
    "Server IP: {pii}.",
    "ping {pii}",
    "The request came from ({pii}).",
    "from {pii}, then it stopped",
    "The attacker used {pii}\n",
    "Blocked {pii}; see the logs.",
    "host={pii}",
    "IP address {pii}!",
    "Resolved to {pii}: done.",
    "{pii}",
    "地址{pii}的",
    "- {pii}\n- next",
]
IPV4_ONLY_CONTEXTS = ["Connect to {pii}:8080 now.", "Range {pii}/24 was blocked."]
IPV6_ONLY_CONTEXTS = ["Open https://[{pii}]:443/ in a browser.", "AAAA record: {pii}"]
IPV6_PREFIXES = "2001:4860 2606:4700 2a00:1450 2a03:2880 2400:cb00 2604:a880 2a01:4f8 2c0f:fb50 2607:f8b0 2a02:26f0".split()

NO_PII = [
    "Upgrade to version 2.10.3.1 before Friday.",
    "Install v1.2.3.4 (or v1.2.3.5) from the releases page.",
    "Version: 4.19.2.1 fixes the crash; release 1.2.3.4 did not.",
    "See § 1.2.3.4 and Section 1.2.3.4 of the contract.",
    "The SNMP OID 1.3.6.1.4.1.2021.10 reports load; so does 1.2.3.4.5.",
    "收录于版本8.0.1.27165 and 版本7.3.2.255",
    "Published 2024.01.15, updated 15.01.2024 and 1.5.2019.",
    "It costs $1,299.99 (or €3.50, £0.99); pi is 3.14159, e is 2.71828.",
    "Read 1.2.3 and then 1.2.3.a of the manual.",
    "Write to user at example dot com, or john [at] example [dot] com.",
    "**Bold** and _italic_ text, a [link](https://example.com/page?id=1.2.3) and `code`.\n\n# Title\n- item",
    "Visit https://www.example.com/about-us/team.html or http://example.org:8080/path?q=1&r=2#top.",
    "Stories at https://medium.com/@user.name/my-story-123 and https://www.youtube.com/@channel.",
    "Follow @jack and @john.smith on social media.",
    "Use logo@2x.png and icon@3x.jpg for retina screens.",
    "npm install lodash@4.17.21 @babel/core@7.2.0 react@18.2.0",
    "go get example.com/mod@v1.3.4 and golang.org/x/text@v0.14.0.Then build.",
    "In C++ use std::vector<int> and Foo::Bar::baz(); Bad::Face is a hex-looking name.",
    "The match started at 12:30:45 and ended 14:05; ratio 16:9, John 3:16, 12::30.",
    "MAC 00:1A:2B:3C:4D:5E and ISBN 978-3-16-148410-0.",
    "Call +1 (555) 010-4477 or 020 7946 0958 for support.",
    "Local machines: 192.168.1.1, 10.0.0.5, 127.0.0.1, 172.16.0.1, 100.64.0.1, ::1, fe80::1%eth0.",
    "Documentation ranges 2001:db8::1, 192.0.2.10 and 198.51.100.7 are safe to print.",
    "Nothing here but plain prose, with commas, dots... and numbers like 42 and 7.5.",
]


@pytest.fixture(scope="module")
def scrubber() -> PIIScrubber:
    return PIIScrubber()


def _email(rng: random.Random) -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = rng.choice(
        [
            f"{first}.{last}",
            f"{first}{last}{rng.randint(1, 99)}",
            f"{first[0]}{last}",
            f"{first}+{rng.choice(['news', 'shop', 'x1'])}",
            f"{first}_{last}",
            f"{first}-{last}",
            f"{last}.{first}{rng.randint(70, 99)}",
            f"info{rng.randint(1, 9)}",
        ]
    )
    domain = f"{rng.choice(SUBDOMAINS)}{rng.choice(COMPANIES)}.{rng.choice(TLDS)}"
    if rng.random() < 0.1:
        domain = rng.choice(["gmail.com", "outlook.com", "yahoo.co.jp", "web.de", "proton.me"])
    address = f"{local}@{domain}"
    style = rng.random()
    return address.upper() if style < 0.1 else address.title() if style < 0.2 else address


def _public_ipv4(rng: random.Random) -> str:
    while True:
        ip = ipaddress.IPv4Address(rng.getrandbits(32))
        if ip.is_global and not ip.is_multicast:
            return str(ip)


def _public_ipv6(rng: random.Random) -> str:
    prefix = rng.choice(IPV6_PREFIXES)
    groups = [f"{rng.getrandbits(16):x}" for _ in range(6)]
    if rng.random() < 0.4:  # a run of zeros, so the address is written with "::"
        zeros = rng.randint(2, 4)
        groups[:zeros] = ["0"] * zeros
    ip = ipaddress.IPv6Address(f"{prefix}:{':'.join(groups)}")
    assert ip.is_global
    style = rng.random()
    return ip.exploded if style < 0.2 else str(ip).upper() if style < 0.35 else str(ip)


def _generated_docs(seed: int = 2019, n_docs: int = 400) -> list[tuple[str, list[PIIMatch]]]:
    """Documents of filler sentences and 1-3 PII items each, with the exact spans to be replaced."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n_docs):
        text, expected = rng.choice(FILLER), []
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(["EMAIL", "EMAIL", "IPV4", "IPV6"])
            if kind == "EMAIL":
                pii, context, entity = _email(rng), rng.choice(EMAIL_CONTEXTS), "EMAIL_ADDRESS"
            else:
                v4 = kind == "IPV4"
                pii = _public_ipv4(rng) if v4 else _public_ipv6(rng)
                context = rng.choice(IP_CONTEXTS + (IPV4_ONLY_CONTEXTS if v4 else IPV6_ONLY_CONTEXTS))
                entity = "IP_ADDRESS"
            text += rng.choice([" ", "\n", "\n\n"])
            before, after = context.split("{pii}")
            start = len(text) + len(before)
            expected.append(PIIMatch(entity, start, start + len(pii)))
            text += before + pii + after
            text += " " + rng.choice(FILLER)
        docs.append((text, expected))
    return docs


def test_recall_on_generated_emails_and_public_ips(scrubber: PIIScrubber) -> None:
    docs = _generated_docs()
    per_kind: dict[str, list[bool]] = {"EMAIL_ADDRESS": [], "IP_ADDRESS": []}
    for text, expected in docs:
        found = set(scrubber.find(text))
        output = scrubber.format(text)
        for match in expected:
            exact = match in found
            gone = text[match.start : match.end] not in output
            per_kind[match.entity].append(exact and gone)
    for entity, hits in per_kind.items():
        assert len(hits) >= 200, entity
        recall = sum(hits) / len(hits)
        assert recall >= 0.99, f"{entity} recall {recall:.4f} on {len(hits)} items"


def test_generated_set_has_no_false_positives(scrubber: PIIScrubber) -> None:
    for text, expected in _generated_docs(seed=7, n_docs=150):
        assert scrubber.find(text) == expected


def test_text_without_pii_is_unchanged(scrubber: PIIScrubber) -> None:
    for text in NO_PII:
        assert scrubber.find(text) == [], text
        assert scrubber.format(text) == text


def test_datatrove_regex_changes_what_we_keep() -> None:
    # Why we do not simply reuse datatrove's regexes: these are not PII and FineWeb rewrote them.
    formatter = PIIFormatter()
    assert formatter.format("Upgrade to version 2.10.3.1 today.") != "Upgrade to version 2.10.3.1 today."
    assert formatter.format("Use logo@2x.png here.") != "Use logo@2x.png here."


def test_replacements_are_fineweb_placeholders_and_cycle_per_document(scrubber: PIIScrubber) -> None:
    text = "a.b@uni.edu, c@d.org, e@f.net and 8.8.8.8, 1.1.1.1, 2606:4700:4700::1111"
    expected = (
        f"{EMAIL_PLACEHOLDERS[0]}, {EMAIL_PLACEHOLDERS[1]}, {EMAIL_PLACEHOLDERS[0]} and "
        f"{IP_PLACEHOLDERS[0]}, {IP_PLACEHOLDERS[1]}, {IP_PLACEHOLDERS[2]}"
    )
    output, counts = scrubber.scrub(text)
    assert output == expected
    assert counts == {"EMAIL_ADDRESS": 3, "IP_ADDRESS": 3}
    # The cycle restarts for each document: same input, same output, whatever came before.
    assert scrubber.format(text) == expected
    assert PIIScrubber().format(text) == expected


def test_private_ips_are_kept_unless_asked(scrubber: PIIScrubber) -> None:
    text = "Router at 192.168.1.1, NAS at 10.0.0.5, DNS at 8.8.8.8, localhost 127.0.0.1."
    assert (
        scrubber.format(text)
        == f"Router at 192.168.1.1, NAS at 10.0.0.5, DNS at {IP_PLACEHOLDERS[0]}, localhost 127.0.0.1."
    )
    everything = PIIScrubber(only_public_ips=False, ip_replacement="<IP>")
    assert everything.format(text) == "Router at <IP>, NAS at <IP>, DNS at <IP>, localhost <IP>."


def test_ip_keeps_port_prefix_and_brackets(scrubber: PIIScrubber) -> None:
    assert scrubber.format("ssh 81.2.69.160:22") == f"ssh {IP_PLACEHOLDERS[0]}:22"
    assert scrubber.format("net 81.2.69.0/24.") == f"net {IP_PLACEHOLDERS[0]}/24."
    assert scrubber.format("[2a00:1450:4001:811::200e]:443") == f"[{IP_PLACEHOLDERS[0]}]:443"
    assert scrubber.format("mapped ::ffff:8.8.8.8 here") == f"mapped {IP_PLACEHOLDERS[0]} here"


# Extracted text glues a sentence to the address before it (a real page's "show@no-priors.com.Sarah Guo");
# presidio's pattern then reads the next word as a domain label that no suffix list knows.
GLUED_EMAILS = [
    ("Email show@no-priors.com.Sarah Guo joined in 2023.", "show@no-priors.com"),
    ("Questions? help@shop.co.uk.Thanks for reading!", "help@shop.co.uk"),
    ("Press: jane.doe@mail.example.org.Call us any time.", "jane.doe@mail.example.org"),
    ("write to team@startup.io.the team answers within a day", "team@startup.io"),
    ("Contact: info@example.com. Sarah Guo", "info@example.com"),
]


@pytest.mark.parametrize(("text", "email"), GLUED_EMAILS)
def test_email_glued_to_the_next_sentence_is_replaced(scrubber: PIIScrubber, text: str, email: str) -> None:
    output = scrubber.format(text)
    assert email not in output
    assert output == text.replace(email, EMAIL_PLACEHOLDERS[0])  # the next word stays


def test_email_cut_at_url_syntax(scrubber: PIIScrubber) -> None:
    text = "https://site.com/contact?email=jane.doe@example.net&ref=1"
    assert scrubber.format(text) == f"https://site.com/contact?email={EMAIL_PLACEHOLDERS[0]}&ref=1"


def test_phone_numbers_only_when_enabled(scrubber: PIIScrubber) -> None:
    text = "Call our office on (212) 555-0187 or +44 20 7946 0958 before 5 pm."
    assert scrubber.format(text) == text
    phones = PIIScrubber(entities=["EMAIL_ADDRESS", "IP_ADDRESS", "PHONE_NUMBER"])
    output, counts = phones.scrub(text + " Mail x.y@corp.com")
    assert output == "Call our office on <PHONE_NUMBER> or <PHONE_NUMBER> before 5 pm. Mail email@example.com"
    assert counts == {"PHONE_NUMBER": 2, "EMAIL_ADDRESS": 1}
    custom = PIIScrubber(entities=["PHONE_NUMBER"], placeholders={"PHONE_NUMBER": "[phone]"})
    assert custom.format(text) == "Call our office on [phone] or [phone] before 5 pm."
    # The digit prefilter: short numbers never reach the phone recognizer.
    assert phones.find("Room 12, 3 floors, 2019 edition.") == []


def test_opt_in_credit_card_and_iban() -> None:
    step = PIIScrubber(entities=["CREDIT_CARD", "IBAN_CODE"])
    text = "Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, order 1234 5678."
    assert step.format(text) == "Card <CREDIT_CARD>, IBAN <IBAN_CODE>, order 1234 5678."


def test_unknown_entity_is_an_error() -> None:
    with pytest.raises(ValueError, match="PHONE_NUBMER") as error:
        PIIScrubber(entities=["EMAIL_ADDRESS", "PHONE_NUBMER"])
    assert all(entity in str(error.value) for entity in SUPPORTED_ENTITIES)
    with pytest.raises(ValueError, match="'SSN'"):
        PIIScrubber(placeholders={"SSN": "<ssn>"})


def test_pipeline_run_counts_replacements() -> None:
    step = PIIScrubber()
    docs = [
        Document(text="Write to ann@shop.de or bob@shop.de from 8.8.4.4.", id="0"),
        Document(text="No personal data, version 2.10.3.1.", id="1"),
        Document(text="Mail ann@shop.de", id="2"),
    ]
    out = list(step.run(iter(docs)))
    assert [d.text for d in out] == [
        f"Write to {EMAIL_PLACEHOLDERS[0]} or {EMAIL_PLACEHOLDERS[1]} from {IP_PLACEHOLDERS[0]}.",
        "No personal data, version 2.10.3.1.",
        f"Mail {EMAIL_PLACEHOLDERS[0]}",
    ]
    assert step.stats["total"].total == 3
    assert step.stats["docs_changed"].total == 2
    assert step.stats["replaced_EMAIL_ADDRESS"].total == 3
    assert step.stats["replaced_IP_ADDRESS"].total == 1


def test_step_pickles_for_workers(scrubber: PIIScrubber) -> None:
    scrubber.find("warm up a@b.com")  # recognizers built: they must not travel
    clone = pickle.loads(pickle.dumps(scrubber))
    assert clone._recognizers is None
    assert clone.format("a@b.com 8.8.8.8") == scrubber.format("a@b.com 8.8.8.8")


def test_real_crawl_text_loses_every_datatrove_email(scrubber: PIIScrubber) -> None:
    if not CRAWL_TEXT.exists():
        pytest.skip(f"{CRAWL_TEXT} not found (the shared data folder is beside the repo)")
    with gzip.open(CRAWL_TEXT, "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    datatrove = PIIFormatter()
    n_emails = 0
    for text in texts:
        found = scrubber.find(text)
        emails = [(m.start, m.end) for m in found if m.entity == "EMAIL_ADDRESS"]
        ips = [(m.start, m.end) for m in found if m.entity == "IP_ADDRESS"]
        for match in datatrove.emails_replacer.regex.finditer(text):
            # Ours may start later (cut at URL syntax) but must cover the "@" and end at the same place.
            at = text.index("@", match.start())
            assert any(s <= at and e == match.end() for s, e in emails), match.group(0)
            n_emails += 1
        for match in datatrove.ip_replacer.regex.finditer(text):
            if public_ip_validator(match.group(0)) and (match.start(), match.end()) not in ips:
                # Only pieces of longer numbers ("版本8.0.1.27165") may be kept.
                assert text[match.end() : match.end() + 1].isdigit(), match.group(0)
        residue = scrubber.format(text)
        for placeholder in EMAIL_PLACEHOLDERS:
            residue = residue.replace(placeholder, "")
        assert all(text[s:e] not in residue for s, e in emails)
    assert n_emails >= 30
