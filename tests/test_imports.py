"""spaCy's tokenizer and presidio's recognizers load without torch and transformers, which stay importable."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import sys
from finemill.text.words import spacy_tokenizer
from finemill.steps.pii.scrubber import _build_recognizers
spacy_tokenizer("en")
_build_recognizers(("EMAIL_ADDRESS", "IP_ADDRESS"))
loaded = sorted(m for m in ("torch", "transformers") if m in sys.modules)
import thinc.compat
import torch  # still importable afterwards: only hidden during those imports
print(loaded, thinc.compat.has_torch, torch.tensor([1, 2]).sum().item())
"""


def test_spacy_and_presidio_load_without_torch():
    from finemill.patches.hidden_imports import torch_unused_by_spacy

    pytest.importorskip("torch")
    if not torch_unused_by_spacy():
        pytest.skip("a spaCy transformer package is installed: torch stays visible to spaCy, as it must")
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["[]", "False", "3"]


def test_hidden_restores_modules():
    from finemill.patches.hidden_imports import hidden

    assert "json" in sys.modules
    with hidden("json", "finemill_no_such_module"):
        assert sys.modules["finemill_no_such_module"] is None
        with pytest.raises(ImportError):
            import finemill_no_such_module  # noqa: F401
        import json  # already imported: not hidden
    assert "finemill_no_such_module" not in sys.modules and json is sys.modules["json"]
