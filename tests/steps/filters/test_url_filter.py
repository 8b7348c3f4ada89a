"""finemill's URL filter against datatrove's: the same keep/drop and reason for every URL, and its lists
loaded once per process.

The reference is datatrove's URLFilter itself, offline (the bundled public-suffix snapshot), loading its
lists the way it does (a 4.5-million-entry set, ~0.7 GB): one reference at a time is kept in memory.
"""

from __future__ import annotations

import functools
import gc
import io
import itertools
import pickle
import tarfile

import pytest
from datatrove.data import Document
from datatrove.pipeline.filters import URLFilter

import finemill.steps.filters.url_blocklists as blocklists
from finemill.errors import FinemillError
from finemill.pipeline.recipe import parse_recipe
from finemill.steps.filters.url import OfflineURLFilter, offline_extractor
from finemill.text.string_index import StringIndex, write_index
from tests.conftest import SHARED_DATA
from tests.real_urls import real_urls

EXTRAS = {
    "soft_word_threshold": 1,
    "extra_domains": ["example-blocked.com", "sub.example-partly.org", "#not-a-comment-in-extras.com"],
    "extra_urls": ["https://example.org/exact/page", "example.org/no-scheme"],
    "banned_words": ["Forbidden", "two words"],
    "banned_subwords": ["zzqx"],
    "soft_banned_words": ["meh"],
}

_references: dict[str, URLFilter] = {}


class DatatroveOfflineURLFilter(URLFilter):
    """datatrove's URLFilter, unchanged but for the offline public-suffix list (as finemill had it)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tldextractor = offline_extractor()


def reference(**params) -> URLFilter:
    """datatrove's filter for `params`, lists loaded; only the latest one kept (0.7 GB each)."""
    key = repr(sorted(params.items()))
    if key not in _references:
        _references.clear()
        gc.collect()
        f = DatatroveOfflineURLFilter(**params)
        f.download_data()
        _references[key] = f
    return _references[key]


def decisions(f: URLFilter, urls: list[str]) -> list[bool | tuple[bool, str]]:
    return [f.filter(Document(text="", id=str(i), metadata={"url": u})) for i, u in enumerate(urls)]


def assert_same(params: dict, urls: list[str]) -> list:
    expected = decisions(reference(**params), urls)
    got = decisions(OfflineURLFilter(**params), urls)
    different = [(u, e, g) for u, e, g in zip(urls, expected, got, strict=True) if e != g]
    assert not different, f"{len(different)} differ, first: {different[:5]}"
    return got


def listed(entries, predicate, n: int) -> list[str]:
    return list(itertools.islice((e for e in entries if predicate(e)), n))


@functools.cache
def edge_case_urls() -> tuple[str, ...]:
    """Constructed URLs around the entries of datatrove's own lists (and of EXTRAS)."""
    ref = reference()
    domains = listed(ref.block_listed_domains, lambda d: d.count(".") == 1, 5)
    subdomains = listed(ref.block_listed_domains, lambda d: d.count(".") >= 2, 5)
    punycode = listed(ref.block_listed_domains, lambda d: "xn--" in d, 3)
    urls = listed(ref.block_listed_url, lambda u: True, 3)
    soft = sorted(ref.soft_banned_words)[:3]
    hard = sorted(ref.banned_words)[:3]
    sub = sorted(ref.banned_subwords)[:3]
    cases = ["https://en.wikipedia.org/wiki/Bread", "https://www.pornhub.com/view", "http://pornhub.com"]
    for d in domains + subdomains + punycode:
        cases += [
            f"http://{d}/",
            f"https://www.{d}/page?q=1",
            f"http://a.b.{d}:8080/x",
            f"http://{d.upper()}/",
            f"http://user:pw@{d}/",
            f"{d}/no-scheme",
            f"http://{d}.",
            f"http://not{d}/",
            f"http://{d}x/",
        ]
    for d in punycode:
        try:
            cases.append(f"http://{d.encode('ascii').decode('idna')}/")  # the Unicode form of a listed IDN
        except UnicodeError:
            pass
    for u in urls:
        cases += [u, f"http://{u}", f"https://{u}", u.upper(), u + "/"]
    for w in hard:
        cases += [
            f"http://example.com/{w}",
            f"http://example.com/{w.upper()}",
            f"http://example.com/a-{w}-b",
            f"http://{w}.example.com/",
            f"http://example.com/{w}s",
        ]
    for w in sub:
        cases += [f"http://example.com/x{w.replace(' ', '')}y", f"http://example.com/{w.replace(' ', '-')}"]
    cases += [
        f"http://example.com/{soft[0]}",
        f"http://example.com/{soft[0]}/{soft[1]}",
        f"http://example.com/{soft[0]}-{soft[1]}-{soft[2]}",
        f"http://example.com/{soft[0].upper()}/{soft[1]}",
    ]
    cases += [
        "http://bücher.de/",
        "http://xn--bcher-kva.de/",
        "http://例え.テスト/",
        "http://example.com:65535/",
        "http://127.0.0.1/",
        "http://[::1]:80/",
        "dns:www.archive.org",
        "mailto:someone@example.com",
        "http://localhost/",
        "https://example.co.uk/",
        "https://sub.example.blogspot.com/",
        "http://EXAMPLE.COM/",
        "http://example.com/%70orn",
        "http://example.com/a?b=c#d",
        "http://ex\ud800ample.com/",
        "/",
        "?",
        "http://example-blocked.com/",
        "https://www.example-blocked.com/",
        "http://sub.example-partly.org/",
        "http://other.example-partly.org/",
        "https://example.org/exact/page",
        "example.org/no-scheme",
        "http://example.com/forbidden",
        "http://example.com/two-words",
        "http://example.com/zzqxa",
        "http://example.com/meh",
        "http://example.com/Forbidden",
        "http://#not-a-comment-in-extras.com/",
    ]
    return tuple(cases)


def test_real_urls_same_decisions_and_reasons():
    if not (SHARED_DATA / "extraction").exists():
        pytest.skip(f"real data not available: {SHARED_DATA}")
    urls = real_urls(SHARED_DATA)
    assert len(urls) > 1500
    got = assert_same({}, urls)
    assert any(g is not True for g in got)  # the real data does contain blocklisted pages


def test_edge_cases_same_decisions_and_reasons():
    urls = list(edge_case_urls())
    got = assert_same({}, urls)
    reasons = {g[1] for g in got if g is not True}
    assert {
        "domain",
        "subdomain",
        "url",
        "hard_blacklisted",
        "soft_blacklisted",
        "blacklisted_subword",
    } <= reasons


def test_filter_pickled_like_an_executor_task_same_decisions():
    f = pickle.loads(pickle.dumps(OfflineURLFilter()))
    f.download_data()
    g = pickle.loads(pickle.dumps(f))  # after loading: the indexes travel as their paths
    urls = list(edge_case_urls())
    assert decisions(f, urls) == decisions(g, urls) == decisions(reference(), urls)


def test_recipe_extras_same_decisions_and_reasons():
    recipe = parse_recipe({"steps": [{"url_filter": EXTRAS}]}, {})
    params = recipe.steps[0].params
    urls = list(edge_case_urls())
    if (SHARED_DATA / "extraction").exists():
        urls += real_urls(SHARED_DATA)
    got = assert_same(params, urls)
    assert (False, "domain") in got and (False, "subdomain") in got and (False, "url") in got


def test_without_integrated_lists_same_decisions_and_reasons():
    params = {**EXTRAS, "use_integrated_lists": False}
    urls = list(edge_case_urls())
    assert_same(params, urls)
    assert_same({"use_integrated_lists": False}, urls)


@pytest.mark.parametrize(
    "bad", [{"soft_word_threshold": "two"}, {"extra_domains": "a.com"}, {"banned_word": ["x"]}]
)
def test_recipe_loader_validates_url_filter_settings(bad):
    with pytest.raises(FinemillError, match="url_filter"):
        parse_recipe({"steps": [{"url_filter": bad}]}, {})


def test_second_filter_in_a_process_does_not_reload(monkeypatch):
    first = OfflineURLFilter()
    first.download_data()
    calls = []
    monkeypatch.setattr(blocklists, "StringIndex", lambda *a: calls.append(a))
    monkeypatch.setattr(blocklists, "build_indexes", lambda *a: calls.append(a))
    second = OfflineURLFilter(extra_domains=["example-blocked.com"])
    second.download_data()
    assert calls == []
    assert second.block_listed_domains.integrated is first.block_listed_domains.integrated
    assert second.tldextractor is first.tldextractor
    assert (
        "pornhub.com" in second.block_listed_domains and "example-blocked.com" in second.block_listed_domains
    )
    assert "example-blocked.com" not in first.block_listed_domains


# The index and the cache, on small lists.


def test_string_index_exact_membership_with_colliding_hashes(tmp_path, monkeypatch):
    import finemill.text.string_index as string_index

    monkeypatch.setattr(string_index, "hash64", lambda b: len(b) % 3)  # many collisions on purpose
    strings = ["a.com", "b.org", "a.com", "", "bücher.de", "xn--bcher-kva.de", "c.net", "C.NET"]
    write_index(strings, tmp_path / "s.idx")
    index = StringIndex(tmp_path / "s.idx")
    assert len(index) == len(set(strings))
    for s in strings:
        assert s in index
    for s in ["a.co", "A.COM", "b.org ", "d.net", "ex\ud800", "bucher.de"]:
        assert s not in index
    assert list(tmp_path.iterdir()) == [tmp_path / "s.idx"]  # no temp file left behind


def test_string_index_rejects_a_truncated_file(tmp_path):
    write_index(["a.com", "b.org"], tmp_path / "s.idx")
    data = (tmp_path / "s.idx").read_bytes()
    (tmp_path / "s.idx").write_bytes(data[:-1])
    with pytest.raises(ValueError, match="truncated"):
        StringIndex(tmp_path / "s.idx")


@pytest.fixture
def small_lists(tmp_path, monkeypatch):
    """datatrove's archive replaced by a small one, in an empty cache folder."""
    archive = tmp_path / "lists.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in [
            ("urls", "example.org/page\n#comment.org/x\n"),
            ("domains", "a.com\n#b.com\n  spaced.net \nsub.c.org\na.com"),
        ]:
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    monkeypatch.setattr(blocklists, "LISTS_ARCHIVE", archive)
    monkeypatch.setenv("FINEMILL_URL_FILTER_CACHE", str(tmp_path / "cache"))
    blocklists.integrated_lists.cache_clear()
    yield tmp_path / "cache"
    blocklists.integrated_lists.cache_clear()  # the next test gets datatrove's lists again


def test_cache_is_built_once_parsed_like_datatrove_and_rebuilt_when_corrupt(small_lists, monkeypatch):
    build = blocklists.build_indexes
    lists = blocklists.integrated_lists()
    assert {"a.com", "spaced.net", "sub.c.org"} == {
        d for d in ["a.com", "spaced.net", "sub.c.org", "#b.com", "  spaced.net "] if d in lists.domains
    }
    assert "example.org/page" in lists.urls and "#comment.org/x" not in lists.urls
    paths = blocklists.index_paths()
    assert sorted(p.name for p in small_lists.glob("*.idx")) == sorted(p.name for p in paths.values())
    assert blocklists.DATATROVE_VERSION in paths["domains"].name

    blocklists.integrated_lists.cache_clear()  # a new process: opens the indexes, builds nothing
    monkeypatch.setattr(blocklists, "build_indexes", lambda *a: pytest.fail("rebuilt a valid cache"))
    assert "a.com" in blocklists.integrated_lists().domains

    monkeypatch.setattr(blocklists, "build_indexes", build)
    paths["domains"].write_bytes(paths["domains"].read_bytes()[:-3])  # e.g. a full disk, elsewhere
    blocklists.integrated_lists.cache_clear()
    assert "a.com" in blocklists.integrated_lists().domains


def test_unwritable_cache_falls_back_to_datatrove_loading(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("FINEMILL_URL_FILTER_CACHE", str(tmp_path / "file" / "cache"))  # cannot be created
    blocklists.integrated_lists.cache_clear()
    loaded = []
    monkeypatch.setattr(URLFilter, "download_data", lambda self: loaded.append(self))
    try:
        f = OfflineURLFilter()
        f.download_data()
    finally:
        blocklists.integrated_lists.cache_clear()
    assert loaded == [f]


def test_cache_key_follows_datatrove_version(small_lists, monkeypatch):
    key = blocklists.cache_key()
    monkeypatch.setattr(blocklists, "DATATROVE_VERSION", "9.9.9")
    assert blocklists.cache_key() != key and "9.9.9" in blocklists.cache_key()
