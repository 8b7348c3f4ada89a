"""Writes finemill's per-language settings file from FineWeb-2's per-language configs (run by hand, never at
run time):

    git clone https://github.com/huggingface/fineweb-2 /tmp/fineweb-2
    python -m benchmarks.data.fineweb2_languages /tmp/fineweb-2 --commit "$(git -C /tmp/fineweb-2 rev-parse HEAD)"

FineWeb-2 (HuggingFace, Apache-2.0) publishes one `configs/{iso3}_{script}.yml` per language with the
values its pipeline gave the language, repetition and quality filters. finemill carries those values, as
data, for the languages fastText's lid.176 identifies: each lid.176 label is mapped to FineWeb-2's
`iso3_Script` name by datatrove's tokenizer assignment table (its language's default ISO 639-3 code and
script), with the corrections in `LID176_NAMES` where lid.176's Wikipedia codes mean another language.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path

import yaml

OUTPUT = Path(__file__).resolve().parents[2] / "finemill" / "steps" / "filters" / "fineweb2_languages.json"
REPOSITORY = "https://github.com/huggingface/fineweb-2"

# lid.176 labels whose language is not the table's default for the code (lid.176's labels are Wikipedia's
# language codes): als is Alemannic Wikipedia, not Tosk Albanian; ku is Kurmanji; bh is Bhojpuri in
# practice; Konkani Wikipedia is written in Devanagari; no is Bokmal; tl has FineWeb-2's fil_Latn.
LID176_NAMES = {
    "als": "gsw_Latn",
    "ku": "kmr_Latn",
    "bh": "bho_Deva",
    "gom": "gom_Deva",
    "no": "nob_Latn",
    "tl": "fil_Latn",
}
# FineWeb-2 leaves English out (it is FineWeb's); its settings are datatrove's defaults, FineWeb's values.
ENGLISH = {
    "name": "eng_Latn",
    "source": "FineWeb (datatrove's defaults)",
    "dup_line_frac": 0.3,
    "top_n_grams": [[2, 0.2], [3, 0.18], [4, 0.16]],
    "dup_n_grams": [[5, 0.15], [6, 0.14], [7, 0.13], [8, 0.12], [9, 0.11], [10, 0.1]],
    "line_punct_thr": 0.12,
    "new_line_ratio": 0.3,
    "min_avg_word_length": 3,
    "max_avg_word_length": 10,
    "max_non_alpha_words_ratio": 0.8,
    "stopwords": ["the", "be", "to", "of", "and", "that", "have", "with"],
}
# What a language without settings gets: datatrove's defaults (FineWeb's values) for the thresholds, and no
# stop-word rule (there is no list to count). FineWeb-2 publishes no default config of its own.
DEFAULTS = {
    **{k: v for k, v in ENGLISH.items() if k not in ("name", "source", "stopwords")},
    "stopwords": [],
    "min_stop_words": 0,
}


def lid176_labels() -> list[str]:
    from finemill.steps.filters.language import find_lid_model, load_fasttext

    return [label.removeprefix("__label__") for label in load_fasttext(find_lid_model()).get_labels()]


def default_names() -> dict[str, str]:
    """lid.176 label -> `iso3_Script` by datatrove's table: a two-letter code's default language, or a
    three-letter code itself, in its default script."""
    from datatrove.utils._import_utils import ASSETS_PATH

    names: dict[str, str] = {}
    with open(os.path.join(ASSETS_PATH, "tokenizer_assignment.csv"), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["default_script"] != "TRUE":
                continue
            name = f"{row['code_3']}_{row['script']}"
            if row["code_1"] and row["default_code_1"] == "TRUE":
                names.setdefault(row["code_1"], name)
            names.setdefault(row["code_3"], name)
    return names


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkout", type=Path, help="a clone of huggingface/fineweb-2")
    parser.add_argument("--commit", required=True, help="the clone's commit, recorded in the file")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    table = default_names()
    languages, missing = {}, []
    for label in lid176_labels():
        if label == "en":
            languages[label] = ENGLISH
            continue
        name = LID176_NAMES.get(label) or table.get(label)
        config = args.checkout / "configs" / f"{name}.yml"
        if not name or not config.is_file():
            missing.append(label)
            continue
        values = yaml.safe_load(config.read_text(encoding="utf-8"))
        languages[label] = {"name": name, "source": f"configs/{name}.yml", **dict(sorted(values.items()))}
    document = {
        "about": (
            "FineWeb-2's per-language filter settings for the languages of fastText's lid.176, keyed by "
            "lid.176 label; `name` is FineWeb-2's iso3_Script name. Written by "
            "benchmarks/data/fineweb2_languages.py; do not edit by hand."
        ),
        "source": {"repository": REPOSITORY, "commit": args.commit, "license": "Apache-2.0"},
        "without_settings": missing,
        "defaults": DEFAULTS,
        "languages": languages,
    }
    args.output.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{args.output}: {len(languages)} languages, {len(missing)} without settings: {', '.join(missing)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
