"""Extraction steps: every page in is either a document out or a removed page with its reason."""

from __future__ import annotations

import os
import time

import pytest
import yaml
from datatrove.data import Document

from finemill.errors import FinemillError
from finemill.pipeline.recipe import CONFIGS_DIR, DEFAULT_RECIPE, load_recipe, parse_recipe
from finemill.steps.extract.resiliparse import ResiliparseExtractor
from finemill.steps.extract.trafilatura import AccountedExtraction, TrafilaturaExtractor

ARTICLE = (
    "<html><head><title>Library</title></head><body>"
    "<nav><a href='/'>Home</a> | <a href='/news'>News</a> | <a href='/about'>About us</a></nav>"
    "<article><h1>The new library opens</h1>"
    + "".join(
        f"<p>The town council met on day {i} to discuss the new library, and residents shared "
        f"their views on opening hours, parking and the children's corner.</p>"
        for i in range(8)
    )
    + "</article><footer>Copyright 2024 Town Gazette. All rights reserved.</footer></body></html>"
)
# Markup, a script and an image, but no text: no extractor finds main text here.
NO_TEXT = "<html><head><title>Gallery</title><script>var page = 1;</script></head><body><img src='a.jpg'></body></html>"


class ListWriter:
    """An exclusion writer that keeps what it is given."""

    def __init__(self) -> None:
        self.written: list[tuple[str, str, str]] = []

    def __enter__(self) -> ListWriter:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def write(self, doc: Document, rank: int = 0) -> None:
        self.written.append((doc.id, doc.metadata["filter_reason"], doc.text))


def run_step(step, pages: dict[str, str]) -> tuple[dict[str, str], ListWriter]:
    writer = ListWriter()
    step.exclusion_writer = writer
    docs = [Document(text=html, id=doc_id, metadata={}) for doc_id, html in pages.items()]
    kept = {d.id: d.text for d in step.run(iter(docs))}
    return kept, writer


@pytest.mark.parametrize("cls", [ResiliparseExtractor, TrafilaturaExtractor])
def test_extractors_keep_main_text_and_remove_empty_pages_with_their_reason(cls):
    # A long timeout: this test is about reasons, not about the speed of a busy test machine.
    kept, writer = run_step(cls(timeout=30.0), {"article": ARTICLE, "no_text": NO_TEXT, "empty": ""})
    assert list(kept) == ["article"]
    assert "residents shared their views" in kept["article"]
    assert "All rights reserved" not in kept["article"] and "About us" not in kept["article"]
    # Removed pages go to removed/ as the page itself, with the reason.
    assert sorted((i, r) for i, r, _ in writer.written) == [
        ("empty", "no_main_text"),
        ("no_text", "no_main_text"),
    ]
    assert dict((i, t) for i, _, t in writer.written)["no_text"] == NO_TEXT


def test_resiliparse_follows_the_trafilatura_steps_content_policy():
    page = (
        "<html><body><article><h1>Walk</h1><p>"
        + "We walked along the river for hours. " * 6
        + "<img src='a.jpg' alt='A heron standing in the reeds'></p></article>"
        "<section class='comments' id='comments'><p>"
        + "Great post, thanks for sharing this walk! " * 3
        + "</p></section></body></html>"
    )
    text = ResiliparseExtractor().extract(page)
    assert "walked along the river" in text
    assert "heron" not in text  # no alt texts, as trafilatura keeps no images
    assert "heron" in ResiliparseExtractor(alt_texts=True).extract(page)
    assert text == text.strip()


class Misbehaving(AccountedExtraction):
    """An extractor that fails in each way a real one can, chosen by the page."""

    name = "misbehaving"

    def __init__(self, timeout: float = 0.5) -> None:
        super().__init__(timeout=timeout)

    def extract(self, text: str) -> str:
        if text == "raise":
            raise ValueError("cannot parse")
        if text == "hang":
            time.sleep(5)
        if text == "crash":
            os._exit(1)  # a segfault in a C extension looks like this to the parent
        return text.upper()


def test_failures_are_removed_with_a_reason_and_the_run_goes_on():
    step = Misbehaving()
    kept, writer = run_step(
        step, {"a": "fine", "b": "raise", "c": "hang", "d": "crash", "e": "", "f": "also fine"}
    )
    assert kept == {"a": "FINE", "f": "ALSO FINE"}
    assert {i: r for i, r, _ in writer.written} == {
        "b": "extractor_error",
        "c": "timeout",
        "d": "extractor_died",
        "e": "no_main_text",
    }
    counters = {k: v.total for k, v in step.stats.stats.items()}
    assert counters["total"] == 6 and counters["forwarded"] == 2 and counters["dropped"] == 4
    assert counters["dropped_timeout"] == 1 and counters["dropped_extractor_died"] == 1


def test_fast_recipe_is_the_fineweb_recipe_with_resiliparse_extraction():
    fineweb, fast = load_recipe(DEFAULT_RECIPE), load_recipe(CONFIGS_DIR / "fineweb-fast.yaml")
    assert fast.step_names() == ["extract_resiliparse" if n == "extract" else n for n in fineweb.step_names()]
    others = {s.name: s.params for s in fineweb.steps if s.name != "extract"}
    assert {s.name: s.params for s in fast.steps if s.name != "extract_resiliparse"} == others
    step = next(s for s in fast.steps if s.name == "extract_resiliparse")
    assert step.params["main_content"] is True


def test_a_recipe_has_one_extractor_and_resiliparse_settings_are_checked():
    raw = yaml.safe_load(DEFAULT_RECIPE.read_text())
    raw["steps"].insert(2, {"extract_resiliparse": {}})
    with pytest.raises(FinemillError, match="both extract main text"):
        parse_recipe(raw, {}, source="r.yaml")
    raw["steps"].pop(1)  # the trafilatura step
    raw["steps"][1] = {"extract_resiliparse": {"favour_precision": True}}
    with pytest.raises(
        FinemillError, match=r"unknown key 'steps\[1\]\.extract_resiliparse\.favour_precision'"
    ):
        parse_recipe(raw, {}, source="r.yaml")


def test_fast_recipe_runs_and_writes_removed_pages_under_its_step(tmp_path):
    import pandas as pd

    from finemill.pipeline.run import run_recipe
    from tests.steps.read.test_reader import record_bytes, write

    crawl = tmp_path / "crawl"
    crawl.mkdir()
    write(
        crawl / "a.warc.gz",
        record_bytes(0, payload=ARTICLE.encode()),
        record_bytes(1, payload=NO_TEXT.encode()),
    )
    recipe = load_recipe(
        CONFIGS_DIR / "fineweb-fast.yaml",
        {"input": [str(crawl)], "output": str(tmp_path / "out"), "workers": 1},
    )
    recipe.steps = [s for s in recipe.steps if s.name in ("extract_resiliparse", "language")]
    stats = run_recipe(recipe, progress=False)
    step = next(s for s in stats["steps"] if s["name"] == "extract_resiliparse")
    assert (step["docs_in"], step["docs_out"], step["removed"]) == (2, 1, {"no_main_text": 1})
    removed = pd.read_parquet(tmp_path / "out" / "removed" / "extract_resiliparse")
    assert removed.url.tolist() == ["https://example.com/page/1"] and removed.text.tolist() == [NO_TEXT]
    kept = pd.read_parquet(tmp_path / "out" / "documents")
    assert kept.url.tolist() == ["https://example.com/page/0"] and "residents shared" in kept.text[0]
