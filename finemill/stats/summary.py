"""What `finemill stats` shows, gathered once: per step counts, reasons, languages, clusters.

Counts come from stats.json; removal reasons are recounted from `removed/<step>/` (every removed
document is there with its reason), which reads only the small `reason` and `language` columns. Where
the two disagree, the summary carries a warning instead of hiding it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from finemill.stats.dedup import Clusters, find_clusters
from finemill.stats.load import Run, value_counts


@dataclass
class StepSummary:
    name: str
    docs_in: int
    docs_out: int
    chars_in: int
    chars_out: int
    time_s: float
    docs_per_s: float | None
    reasons: dict[str, int]  # reason -> removed documents, largest first
    by_language: dict[str, dict[str, int]] = field(default_factory=dict)  # reason -> detected language -> n
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def removed(self) -> int:
        return self.docs_in - self.docs_out

    @property
    def chars_removed(self) -> int:
        return self.chars_in - self.chars_out


@dataclass
class Summary:
    run: Run
    steps: list[StepSummary]
    read_docs: int
    read_chars: int
    skipped: dict[str, int]  # records the reader did not turn into documents, by reason
    kept_docs: int
    kept_chars: int
    languages: dict[str, int]  # detected language -> documents the language step saw, largest first
    clusters: Clusters | None
    warnings: list[str]


def summarize(run: Run) -> Summary:
    stats = run.stats
    reader = stats["reader"]
    steps, warnings = [], []
    chars_in = reader["chars"]
    for raw in stats["steps"]:
        step = _step_summary(run, raw, chars_in, warnings)
        steps.append(step)
        chars_in = step.chars_out
    kept_chars = stats["documents"]["chars"] or (steps[-1].chars_out if steps else reader["chars"])
    languages = Counter()
    for step in steps:
        for key, n in step.counters.items():
            if key.startswith("lang_"):
                languages[key.removeprefix("lang_")] += n
    return Summary(
        run=run,
        steps=steps,
        read_docs=reader["documents"],
        read_chars=reader["chars"],
        skipped=dict(sorted(reader.get("skipped", {}).items(), key=lambda kv: -kv[1])),
        kept_docs=stats["documents"]["count"],
        kept_chars=kept_chars,
        languages=dict(languages.most_common()),
        clusters=find_clusters(run),
        warnings=warnings,
    )


def _step_summary(run: Run, raw: dict, chars_in: int, warnings: list[str]) -> StepSummary:
    name = raw["name"]
    files = run.removed_files(name)
    reasons, by_language = dict(raw["removed"]), {}
    if files:
        counts = value_counts(files, ["reason", "language"] if name == "language" else ["reason"])
        recounted: Counter[str] = Counter()
        for key, n in counts.items():
            reason = key[0] or "unspecified"
            recounted[reason] += n
            if name == "language":
                by_language.setdefault(reason, Counter())[key[1] or "unknown"] += n
        if recounted.total() != sum(reasons.values()):
            warnings.append(
                f"{name}: removed/{name}/ holds {recounted.total():,} documents, "
                f"stats.json counts {sum(reasons.values()):,} removed"
            )
        reasons = dict(recounted)
        by_language = {r: dict(c.most_common()) for r, c in by_language.items()}
    elif sum(reasons.values()):
        warnings.append(f"{name}: {sum(reasons.values()):,} removed but no removed/{name}/ files")
    return StepSummary(
        name=name,
        docs_in=raw["docs_in"],
        docs_out=raw["docs_out"],
        chars_in=chars_in,
        chars_out=raw["chars_out"],
        time_s=raw.get("time_s", 0.0),
        docs_per_s=raw.get("docs_per_s"),
        reasons=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        by_language=by_language,
        counters=dict(raw.get("counters", {})),
    )
