"""One step registry: each entry's kind (extracts, reads HTML, removes) matches its class, and the kinds
are known without importing any step's dependencies."""

from __future__ import annotations

import subprocess
import sys

from finemill.pipeline.registry import EXTRACT_STEPS, HTML_STEPS, REMOVING_STEPS, STEPS


def test_kinds_are_known_without_datatrove():
    code = (
        "import sys; sys.modules['datatrove'] = None\n"  # any datatrove import now fails
        "from finemill.pipeline.registry import EXTRACT_STEPS, HTML_STEPS, REMOVING_STEPS\n"
        "import finemill.stats.histograms, finemill.stats.sample\n"
        "print((sorted(EXTRACT_STEPS), sorted(HTML_STEPS), sorted(REMOVING_STEPS)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str((sorted(EXTRACT_STEPS), sorted(HTML_STEPS), sorted(REMOVING_STEPS)))


def test_each_kind_matches_what_the_class_does():
    from datatrove.pipeline.extractors.base import BaseExtractor
    from datatrove.pipeline.filters.base_filter import BaseFilter

    for name, entry in STEPS.items():
        cls = entry.load()
        assert entry.extracts == issubclass(cls, BaseExtractor), name
        if name == "minhash":  # settings of the MinHash stages; its last stage writes removed/minhash
            continue
        # datatrove's filters and extractors take the writer of removed documents; a formatter drops nothing
        assert entry.removes == issubclass(cls, (BaseFilter, BaseExtractor)), name
    assert set(EXTRACT_STEPS) < set(HTML_STEPS) and "url_filter" in HTML_STEPS
    assert "pii" not in REMOVING_STEPS and "minhash" in REMOVING_STEPS
