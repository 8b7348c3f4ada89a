"""The explain view (`finemill inspect`, the HTML report) shows the numbers the filters decided on.

On real runs (the bundled sample, two real crawl files): every removed document's measure, against its
threshold, removes it with the recorded reason, and documents the step kept pass every measure. On the real
documents of ../shared/data: datatrove's own filter classes decide as the view says. Plus the two display
bugs of the report: numbers below 0.001 written as `0.`, and a language-score histogram that lost documents.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from datatrove.data import Document

from finemill.pipeline.registry import EXTRACT_STEPS
from tests.conftest import shared_file
from tests.stats.test_stats import kept, removed, write_run

# Steps that store a changed text: a document they keep leaves with another text than the one they checked.
REWRITING_STEPS = {*EXTRACT_STEPS, "c4_quality", "pii"}


@pytest.fixture(params=["sample_run", "real_run"])
def run(request) -> Path:
    return request.getfixturevalue(request.param)


def removed_rows(opened, step: str) -> pd.DataFrame:
    files = opened.removed_files(step)
    if not files:
        return pd.DataFrame({"text": [], "url": [], "reason": []})
    return pd.concat(pd.read_parquet(f, columns=["text", "url", "reason"]) for f in files)


def kept_as_checked(opened, step: str) -> pd.DataFrame:
    """Documents `step` kept, with the very text it checked: those a later step removed, up to the first step
    that rewrites text. Empty for a step that rewrites text itself (C4 keeps only some lines)."""
    steps = opened.step_names
    frames = []
    for later in steps[steps.index(step) + 1 :]:
        if step in REWRITING_STEPS:
            break
        frames.append(removed_rows(opened, later))
        if later in REWRITING_STEPS:  # its removed rows hold what it received; what it keeps is rewritten
            break
    return pd.concat(frames) if frames else removed_rows(opened, "none")


def test_the_view_reproduces_every_removal_and_every_pass_of_a_real_run(run):
    from finemill.stats.explain import Explainer
    from finemill.stats.load import open_run

    opened = open_run(run)
    explainer = Explainer(opened.params)
    removals = passes = numbers = 0
    for step in opened.step_names:
        if explainer.checks(step, "", "https://example.com/") is None:
            continue  # extraction, MinHash, PII: nothing measured
        for text, url, reason in removed_rows(opened, step).itertuples(index=False):
            checks = explainer.checks(step, text, url)
            # the first check that removes is the one the run recorded
            assert next(c.reason for c in checks if c.removes) == reason, (step, reason, url)
            (measure,) = explainer.explain(step, reason, text, url)
            if measure.value is not None:
                assert measure.removes is True, (step, reason, str(measure))
                assert "(threshold)" in str(measure)
                numbers += 1
            removals += 1
        for text, url, _ in kept_as_checked(opened, step).itertuples(index=False):
            measures = explainer.explain(step, None, text, url)
            assert measures and all(m.removes is False for m in measures), (
                step,
                url,
                [str(m) for m in measures],
            )
            assert not any(c.removes for c in explainer.checks(step, text, url))
            passes += 1
    assert removals and numbers and passes, (removals, numbers, passes)


# --- datatrove's classes, on the real documents of ../shared/data


def real_texts(step: int) -> list[str]:
    path = shared_file("crawl/CC-MAIN-2019-30-extracted-text.jsonl.gz")
    return [json.loads(line)["text"] for line in gzip.open(path, "rt", encoding="utf-8")][::step]


@pytest.mark.slow
def test_datatroves_filters_decide_as_the_view_says_on_real_documents():
    """Each document through datatrove's class (spaCy words, datatrove's code): removed with reason R, the
    view's measure for R removes it; kept, every measure the view shows for the step passes."""
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        LanguageFilter,
    )

    from finemill.stats.explain import Explainer
    from finemill.steps.filters.language import FastTextLanguageFilter

    language = LanguageFilter(languages=["en"])
    language.model = FastTextLanguageFilter().model  # the same model file, without datatrove's download
    filters = {
        "language": language,
        "gopher_repetition": GopherRepetitionFilter(),
        "gopher_quality": GopherQualityFilter(),
        "c4_quality": C4QualityFilter(filter_no_terminal_punct=False),
        "fineweb_quality": FineWebQualityFilter(),
    }
    explainer = Explainer(
        {"c4_quality": {"filter_no_terminal_punct": False}, "fineweb_quality": {"rules": "datatrove"}}
    )
    outcomes: dict[str, set] = {step: set() for step in filters}
    for text in real_texts(step=3):
        for step, f in filters.items():
            result = f.filter(Document(text=text, id="x"))
            reason = (
                "below_threshold" if result is False else result[1] if isinstance(result, tuple) else None
            )
            outcomes[step].add(reason)
            if reason is None:
                measures = explainer.explain(step, None, text)
                assert measures and all(m.removes is False for m in measures), (
                    step,
                    [str(m) for m in measures],
                )
            else:
                (measure,) = explainer.explain(step, reason, text)
                assert measure.removes in (True, None), (step, reason, str(measure))
    for step, seen in outcomes.items():  # each filter kept some documents and removed others
        assert None in seen and len(seen) > 1, (step, seen)


# --- issue: `score of en: 0. <= 0.65`


def test_small_scores_are_written_with_their_digits(real_run):
    from finemill.stats.explain import Explainer, Measure
    from finemill.stats.load import open_run

    assert str(Measure("score of en", 0.04, 0.65, "<=")) == "score of en: 0.04 <= 0.65 (threshold)"
    assert str(Measure("score of en", 0.000312, 0.65, "<=")) == "score of en: 0.000312 <= 0.65 (threshold)"
    assert str(Measure("words", 12345, 50, "<")).startswith("words: 12,345 (passes")
    # close to the threshold: enough digits that the two numbers differ on screen
    assert str(Measure("share", 0.649996, 0.65, "<=")) == "share: 0.649996 <= 0.65 (threshold)"
    # the real crawl's Chinese pages score near zero for English
    opened = open_run(real_run)
    explainer = Explainer(opened.params)
    shown = [
        str(m)
        for text, url, reason in removed_rows(opened, "language").itertuples(index=False)
        for m in explainer.explain("language", reason, text, url)
    ]
    values = [re.fullmatch(r"score of en: (\S+) <= 0\.65 \(threshold\)", s) for s in shown]
    assert all(values), shown
    assert min(float(v[1]) for v in values) < 0.001  # the case that printed `0.`
    assert all(re.fullmatch(r"0\.\d*[1-9]|0", v[1]) for v in values), shown


# --- issue: the language-score histogram counted fewer documents than the length histogram


def test_score_and_length_histograms_count_the_same_documents(tmp_path):
    """fastText scores confident English above 1 (1.00007): such documents fell past the last bin."""
    from finemill.stats.histograms import score_and_length_histograms
    from finemill.stats.load import open_run
    from finemill.steps.filters.language import FastTextLanguageFilter

    lid = FastTextLanguageFilter()
    removed_rows_, kept_rows = [], []
    for i, text in enumerate(real_texts(step=2)):
        doc = Document(text=text, id=str(i))
        url = f"https://example.com/{i}"
        if lid.filter(doc) is True:
            kept_rows.append(kept(text, url, doc.metadata["language_score"]))
        else:
            removed_rows_.append(
                removed(
                    "language",
                    "below_threshold",
                    text,
                    url,
                    doc.metadata["language"],
                    doc.metadata["language_score"],
                )
            )
    scores = [r["language_score"] for r in removed_rows_ + kept_rows]
    assert max(scores) > 1  # the real model's scores of real pages: the case that lost documents
    out = write_run(tmp_path / "run", removed_rows_, kept_rows)
    score, length = score_and_length_histograms(open_run(out))
    assert score.before.sum() == length.before.sum() == len(scores)
    assert score.after.sum() == length.after.sum() == len(kept_rows)
