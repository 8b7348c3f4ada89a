"""Tests of finemill.train: model, config, data loader, training loop, checkpoints, DDP, sampling.

Everything runs on CPU with tiny models (2 layers, width 64, context 32). The token shards are built here
from real web text (shared/data, when present) with a small byte-level BPE, following the
finemill-tokens-v1 contract that `finemill tokenize` writes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from finemill.cli import main as cli_main
from finemill.errors import FinemillError
from finemill.model import cpu_linear
from finemill.model.checkpoint import list_checkpoints, load_checkpoint
from finemill.model.config import ModelConfig
from finemill.model.generate import generate
from finemill.model.gpt import GPT, KVCache
from finemill.tokenize.tokens_folder import TokenData
from finemill.train.config import TrainConfig, load_config
from finemill.train.data import TokenLoader
from finemill.train.loop import train
from finemill.train.metrics import read_metrics
from finemill.train.optimizer import lr_at
from tests.conftest import REPO, SHARED_DATA, torchrun_cli

SHARED_TEXT = SHARED_DATA / "crawl" / "CC-MAIN-2019-30-extracted-text.jsonl.gz"
VOCAB = 512
EOT = "<|endoftext|>"


# ----------------------------------------------------------------------------------------------------------
# Fixtures: a tokens folder exactly as `finemill tokenize` writes it.


def load_texts(max_chars: int = 3000) -> list[str]:
    """The 697 real CC-MAIN-2019-30 documents (each cut to max_chars), or generated English-like text."""
    if SHARED_TEXT.is_file():
        with gzip.open(SHARED_TEXT, "rt", encoding="utf-8") as f:
            texts = [json.loads(line)["text"][:max_chars] for line in f]
        return [t for t in texts if t.strip()]
    rng = random.Random(0)
    words = tuple(
        (
            "the of and to in a is that for it as was with be by on not he this are or his from at which but "
            "have an they you were her she there one all we their been has more when will would who so no "
            "city river history music garden market school water light house story people year time world "
            "small great old new early public local open north south winter summer family night morning"
        ).split()
    )
    syllables = (
        "ka",
        "lo",
        "mi",
        "ren",
        "tas",
        "vor",
        "el",
        "dun",
        "pri",
        "so",
        "ath",
        "gel",
        "nu",
        "ber",
        "quo",
    )
    words += tuple(dict.fromkeys("".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(3000)))
    weights = [1 / (i + 1) for i in range(len(words))]  # Zipf-like, as in real text; enough words for BPE
    texts = []
    for _ in range(400):
        sentences = []
        for _ in range(rng.randint(4, 14)):
            s = " ".join(rng.choices(words, weights, k=rng.randint(5, 16)))
            sentences.append(s[0].upper() + s[1:] + rng.choice([".", ".", ".", "?", "!"]))
        texts.append(" ".join(sentences))
    return texts


def train_tokenizer(texts: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - 1, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(texts, trainer)
    tok.add_special_tokens([EOT])  # the last id, as in the contract's example
    assert tok.get_vocab_size() == vocab_size
    return tok


def write_shard(path: Path, ids: list[list[int]], start: int, row_group_size: int) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "id": pa.array([f"doc-{start + i}" for i in range(len(ids))]),
            "input_ids": pa.array(ids, type=pa.list_(pa.uint16())),
            "num_tokens": pa.array([len(x) for x in ids], type=pa.int64()),
        }
    )
    pq.write_table(table, path, compression="zstd", row_group_size=row_group_size)
    return {"documents": len(ids), "tokens": sum(len(x) for x in ids)}


def make_tokens_dir(out: Path, texts: list[str], tokenizer, val_docs: int = 12) -> Path:
    """OUT/tokens: tokenizer.json, train/shard_0000{0,1}.parquet (3 row groups each), val/, manifest.json."""
    tokens = out / "tokens"
    tokens.mkdir(parents=True)
    tokenizer.save(str(tokens / "tokenizer.json"))
    ids = [e.ids for e in tokenizer.encode_batch(texts)]
    every = max(1, len(ids) // val_docs)  # validation documents spread over the corpus
    splits = {
        "val": ids[::every][:val_docs],
        "train": [x for i, x in enumerate(ids) if i % every or i // every >= val_docs],
    }
    manifest_splits = {}
    for split, docs in splits.items():
        parts = [docs] if split == "val" else [docs[: len(docs) // 2], docs[len(docs) // 2 :]]
        shards, start = [], 0
        for i, part in enumerate(parts):
            rel = f"{split}/shard_{i:05d}.parquet"
            counts = write_shard(tokens / rel, part, start, row_group_size=max(1, math.ceil(len(part) / 3)))
            shards.append({"path": rel, **counts})
            start += len(part)
        manifest_splits[split] = {
            "documents": sum(s["documents"] for s in shards),
            "tokens": sum(s["tokens"] for s in shards),
            "shards": shards,
        }
    eot_id = tokenizer.token_to_id(EOT)
    manifest = {
        "format": "finemill-tokens-v1",
        "tokenizer": {
            "path": "tokenizer.json",
            "sha256": hashlib.sha256((tokens / "tokenizer.json").read_bytes()).hexdigest(),
            "vocab_size": tokenizer.get_vocab_size(),
            "eot_token": EOT,
            "eot_id": eot_id,
            "special_tokens": {EOT: eot_id},
        },
        "dtype": "uint16",
        "seed": 0,
        "val_fraction": val_docs / len(texts),
        "splits": manifest_splits,
        "bytes_per_token": sum(len(t.encode()) for t in texts) / sum(len(x) for x in ids),
        "source": {
            "documents_dir": "generated-by-test",
            "documents": len(texts),
            "bytes": sum(len(t.encode()) for t in texts),
        },
    }
    (tokens / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return tokens


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    texts = load_texts()
    tokenizer = train_tokenizer(texts[:250], VOCAB)
    return texts, tokenizer


@pytest.fixture(scope="module")
def tokens_dir(tmp_path_factory, corpus) -> Path:
    texts, tokenizer = corpus
    return make_tokens_dir(tmp_path_factory.mktemp("run"), texts, tokenizer)


@pytest.fixture(scope="module")
def small_tokens_dir(tmp_path_factory, corpus) -> Path:
    """A few documents only: several epochs go by in a handful of batches."""
    texts, tokenizer = corpus
    return make_tokens_dir(tmp_path_factory.mktemp("small"), texts[:10], tokenizer, val_docs=2)


@pytest.fixture(autouse=True)
def onednn_first():
    """Each test starts on oneDNN's matmuls, whatever backend an earlier test's `cpu_matmul: auto` run chose
    for the process."""
    cpu_linear.use("onednn")


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared; also makes CPU results reproducible
    yield
    torch.set_num_threads(before)


def tiny_config(tokens: Path, out: Path, **overrides) -> TrainConfig:
    base = {
        "model": {"n_layer": 2, "n_head": 2, "n_embd": 64, "block_size": 32},
        "data": str(tokens),
        "out": str(out),
        "micro_batch_size": 4,
        "max_steps": 20,
        "lr": 3e-3,
        "warmup_steps": 3,
        "log_every": 1,
        "eval_every": 10,
        "eval_batches": 2,
        "sample_every": 0,
        "checkpoint_every": 0,
        "device": "cpu",
    }
    model = {**base.pop("model"), **overrides.pop("model", {})}
    return load_config(None, {**base, **overrides, **{f"model.{k}": v for k, v in model.items()}})


def losses(out: Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in read_metrics(out / "metrics.jsonl")}


# ----------------------------------------------------------------------------------------------------------
# Model


def test_model_forward_params_and_flops():
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=500, n_layer=2, n_head=2, n_embd=64, block_size=32)
    model = GPT(cfg)
    idx, targets = torch.randint(0, 500, (2, 3, 32))
    logits, loss = model(idx, targets)
    assert logits is None  # training needs only the loss
    assert model(idx)[0].shape == (3, 32, 512)  # vocab padded to a multiple of 64
    assert abs(loss.item() - math.log(512)) < 0.3  # small init: close to a uniform guess
    untied = GPT(ModelConfig(**{**cfg.__dict__, "tie_embeddings": False}))
    assert untied.num_params() - model.num_params() == 512 * 64
    hidden = 192  # 8/3 * 64 rounded up to a multiple of 64
    per_layer = 4 * 64 * 64 + 3 * 64 * hidden + 2 * 64
    assert model.num_params() == 512 * 64 + 2 * per_layer + 64
    assert model.num_params(non_embedding=True) == 2 * per_layer + 64
    norm_gains = (2 * 2 + 1) * 64  # no matmul: not in the FLOPs
    assert model.flops_per_token() == 6 * (model.num_params() - norm_gains) + 12 * 2 * 32 * 64
    assert untied.flops_per_token() == model.flops_per_token()  # same matmuls either way


@pytest.mark.parametrize("tied", [True, False])
def test_fused_loss_matches_lm_head_then_cross_entropy(tokens_dir, tied):
    """Training on CPU computes the loss with LinearCrossEntropy; the loss and every gradient must be those of
    lm_head + F.cross_entropy (the path evaluation and CUDA take), on real tokens and with peaked logits."""
    torch.manual_seed(0)
    data = TokenData(tokens_dir)
    model = GPT(
        ModelConfig(
            vocab_size=data.vocab_size, n_layer=2, n_head=2, n_embd=64, block_size=32, tie_embeddings=tied
        )
    )
    with torch.no_grad():
        model.lm_head.weight.mul_(25)  # far from uniform: the softmax's max-subtraction matters
    x, y = next(TokenLoader(data, "train", 4, 32))

    def loss_and_grads(fused: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        model.zero_grad(set_to_none=True)
        if fused:
            logits, loss = model(x, y)
            assert logits is None and type(loss.grad_fn).__name__ == "LinearCrossEntropyBackward"
        else:
            logits = model.lm_head(model.hidden_states(x))
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())
        loss.backward()
        return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}

    fused_loss, fused_grads = loss_and_grads(True)
    loss, grads = loss_and_grads(False)
    assert loss.item() > 1.0  # peaked and mostly wrong: large gradients to compare
    assert fused_loss.item() == pytest.approx(loss.item(), rel=1e-6)
    for name, grad in grads.items():
        torch.testing.assert_close(fused_grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)
    with torch.no_grad():  # evaluation: no gradients to compute, the plain path
        assert model(x, y)[1].item() == pytest.approx(loss.item(), rel=1e-6)


def test_kv_cache_matches_full_forward():
    torch.manual_seed(0)
    model = GPT(ModelConfig(vocab_size=300, n_layer=2, n_head=4, n_embd=64, block_size=24)).eval()
    idx = torch.randint(0, 300, (2, 20))
    with torch.no_grad():
        full, _ = model(idx)  # (2, 20, V)
        cache = KVCache(2, 24)
        prefill, _ = model(idx[:, :7], cache=cache)
        chunk, _ = model(idx[:, 7:10], cache=cache)  # several new positions at once: explicit mask
        steps = [model(idx[:, t : t + 1], cache=cache)[0] for t in range(10, 20)]
    cached = torch.cat([prefill, chunk, *steps], dim=1)
    torch.testing.assert_close(cached, full, atol=1e-4, rtol=1e-4)

    # Greedy decoding with the cache picks what a full recompute per token picks.
    prompt = idx[:, :5]
    out = generate(model, prompt, 15, temperature=0)
    ref = prompt
    for _ in range(15):
        logits, _ = model(ref)
        ref = torch.cat([ref, logits[:, -1, :300].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(out, ref)
    # Past the context length the cache restarts from the last half context and keeps going.
    assert generate(model, prompt, 60, temperature=0.8, top_k=10).shape == (2, 65)


def test_lr_schedule_cosine_and_wsd():
    cfg = TrainConfig(lr=1.0, min_lr_ratio=0.1, warmup_steps=10, max_steps=110)
    assert lr_at(1, cfg) == pytest.approx(0.1) and lr_at(10, cfg) == pytest.approx(1.0)
    assert lr_at(60, cfg) == pytest.approx(0.55) and lr_at(110, cfg) == pytest.approx(0.1)
    wsd = TrainConfig(
        lr=1.0, min_lr_ratio=0.0, warmup_steps=10, max_steps=110, schedule="wsd", decay_fraction=0.5
    )
    assert lr_at(55, wsd) == 1.0 and lr_at(110, wsd) == pytest.approx(0.0)
    assert lr_at(82, wsd) == pytest.approx(0.5, abs=0.02)


# ----------------------------------------------------------------------------------------------------------
# Config


def test_config_validation_names_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_step: 10\n")
    with pytest.raises(
        FinemillError, match=r"bad.yaml: unknown key 'max_step' \(did you mean 'max_steps'\?\)"
    ):
        load_config(bad)
    bad.write_text("model:\n  n_layers: 2\n")
    with pytest.raises(
        FinemillError, match=r"unknown key 'model.n_layers' \(did you mean 'model.n_layer'\?\)"
    ):
        load_config(bad)
    bad.write_text("max_steps: ten\n")
    with pytest.raises(FinemillError, match=r"bad.yaml: max_steps: expected int, got 'ten'"):
        load_config(bad)
    bad.write_text("compile: 1\n")
    with pytest.raises(FinemillError, match=r"compile: expected bool, got 1"):
        load_config(bad)
    bad.write_text("schedule: linear\n")
    with pytest.raises(FinemillError, match=r"schedule: expected one of 'cosine', 'wsd', got 'linear'"):
        load_config(bad)
    good = tmp_path / "good.yaml"
    good.write_text("lr: 3e-4\nmodel:\n  n_layer: 3\n")  # PyYAML reads 3e-4 as a string: accepted as float
    cfg = load_config(good, {"model.n_embd": "96", "max_steps": "7", "compile": "true"})
    assert (cfg.lr, cfg.model.n_layer, cfg.model.n_embd, cfg.max_steps, cfg.compile) == (3e-4, 3, 96, 7, True)
    with pytest.raises(FinemillError, match="multiple of model.n_head"):
        load_config(None, {"model.n_embd": 100, "model.n_head": 3})


def test_shipped_configs():
    tiny = load_config(REPO / "configs" / "train-tiny.yaml")
    assert tiny.device == "auto" and tiny.model.block_size <= 256 and not tiny.compile
    big = load_config(REPO / "configs" / "train-gpt2-124m.yaml")
    m = big.model
    assert (m.n_layer, m.n_embd, m.n_head, m.block_size) == (12, 768, 12, 1024)
    assert big.tokens_per_step == 524288 and big.compile and big.dtype in ("auto", "bfloat16")
    assert big.tokens_per_step % (big.micro_batch_size * m.block_size) == 0


# ----------------------------------------------------------------------------------------------------------
# Data


def test_loader_packs_documents_with_separators(tokens_dir):
    data = TokenData(tokens_dir)
    T = 32
    loader = TokenLoader(data, "val", batch_size=2, seq_len=T, shuffle=False)
    table = pq.read_table(tokens_dir / "val" / "shard_00000.parquet")
    stream = np.concatenate([[data.eot_id, *doc] for doc in table.column("input_ids").to_pylist()])
    windows = loader.windows_per_epoch
    assert windows == (len(stream) - 1) // T
    for b in range(3):
        x, y = next(loader)
        assert x.shape == y.shape == (2, T) and x.dtype == torch.int64
        for r in range(2):
            i = 2 * b + r
            assert x[r].tolist() == stream[i * T : i * T + T].tolist()
            assert y[r].tolist() == stream[i * T + 1 : i * T + T + 1].tolist()


def test_loader_splits_ranks_and_workers_without_overlap(tokens_dir):
    data = TokenData(tokens_dir)

    def take(n, **kw):
        loader = TokenLoader(data, "train", batch_size=3, seq_len=16, seed=1, **kw)
        return [next(loader)[0] for _ in range(n)]

    single = take(8)
    ranks = [take(4, rank=r, world_size=2) for r in range(2)]
    # Global batch g goes to rank g % 2: interleaving the ranks gives back the single-process stream.
    for k in range(4):
        assert torch.equal(ranks[0][k], single[2 * k]) and torch.equal(ranks[1][k], single[2 * k + 1])
    rows = {tuple(row) for batches in ranks for b in batches for row in b.tolist()}
    assert len(rows) == 4 * 2 * 3  # no window twice
    # DataLoader workers split a rank's batches round-robin and hand them back in order.
    with_workers = take(5, rank=1, world_size=2, num_workers=2)
    assert all(torch.equal(a, b) for a, b in zip(with_workers, take(5, rank=1, world_size=2), strict=True))


def test_loader_resumes_exactly_across_epochs(small_tokens_dir):
    data = TokenData(small_tokens_dir)
    kw = {"batch_size": 4, "seq_len": 32, "seed": 3}
    loader = TokenLoader(data, "train", **kw)
    per_epoch = loader.windows_per_epoch
    n = 3 * per_epoch // 4 + 2  # about three epochs
    straight = [next(loader) for _ in range(n)]
    assert loader.epoch > 2.5

    first = TokenLoader(data, "train", **kw)
    part = [next(first) for _ in range(n // 2)]
    state = json.loads(json.dumps(first.state_dict()))  # a checkpoint keeps plain data
    resumed = TokenLoader(data, "train", **kw)
    resumed.load_state_dict(state)
    part += [next(resumed) for _ in range(n - n // 2)]
    for (x1, y1), (x2, y2) in zip(straight, part, strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)

    # Each epoch reshuffles: same tokens, another order.
    def epoch_windows(e):
        flat = [row for x, _ in straight for row in x.tolist()]
        return flat[e * per_epoch : (e + 1) * per_epoch]

    e0, e1 = epoch_windows(0), epoch_windows(1)
    assert e0 != e1 and sorted(t for w in e0 for t in w) != [] and abs(len(e0) - len(e1)) == 0

    # A resume at another world size works when the position divides evenly, and fails clearly otherwise.
    two = TokenLoader(data, "train", rank=1, world_size=2, **kw)
    two.load_state_dict({**state, "windows": 8})
    assert torch.equal(next(two)[0], straight[3][0])
    with pytest.raises(FinemillError, match="not a multiple"):
        two.load_state_dict({**state, "windows": 4})
    with pytest.raises(FinemillError, match="seed was 3 in the checkpoint"):
        TokenLoader(data, "train", batch_size=4, seq_len=32, seed=4).load_state_dict(state)


def test_mismatched_vocab_fails_clearly(tokens_dir, tmp_path, capsys):
    cfg = tiny_config(tokens_dir, tmp_path / "run", model={"vocab_size": 1024})
    with pytest.raises(
        FinemillError, match=r"vocab mismatch: the model has vocab_size 1024 .* 512-token tokenizer"
    ):
        train(cfg, show_progress=False)
    code = cli_main(
        [
            "train",
            "--data",
            str(tokens_dir),
            "--out",
            str(tmp_path / "cli"),
            "--device",
            "cpu",
            "--set",
            "model.vocab_size=50257",
        ]
    )
    assert code == 2 and "vocab mismatch" in capsys.readouterr().err

    # A manifest that understates the vocab is caught when the ids are read.
    lying = tmp_path / "lying"
    lying.mkdir()
    for p in tokens_dir.rglob("*"):
        if p.is_file():
            (lying / p.relative_to(tokens_dir)).parent.mkdir(parents=True, exist_ok=True)
            (lying / p.relative_to(tokens_dir)).write_bytes(p.read_bytes())
    manifest = json.loads((lying / "manifest.json").read_text())
    manifest["tokenizer"].update(vocab_size=256, eot_id=255)
    (lying / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FinemillError, match="outside the manifest's vocab"):
        next(TokenLoader(TokenData(lying), "train", batch_size=2, seq_len=16))


def test_bad_manifest_and_missing_data(tmp_path):
    with pytest.raises(FinemillError, match="no token manifest"):
        TokenData(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(FinemillError, match="expected 'finemill-tokens-v1'"):
        TokenData(tmp_path)


# ----------------------------------------------------------------------------------------------------------
# Training loop


def test_loss_decreases_on_sample_shards(tokens_dir, tmp_path):
    out = tmp_path / "run"
    cfg = tiny_config(
        tokens_dir,
        out,
        max_steps=100,
        micro_batch_size=8,
        eval_every=50,
        eval_batches=8,
        sample_every=100,
        sample_tokens=8,
        checkpoint_every=50,
        warmup_steps=5,
    )
    summary = train(cfg, show_progress=False)
    records = read_metrics(out / "metrics.jsonl")
    first, last = records[0], records[-1]
    assert {"step", "loss", "lr", "grad_norm", "tokens_per_s", "tokens"} <= set(first)
    assert "mfu" not in first  # CUDA only
    val = [r["val_loss"] for r in records if "val_loss" in r]
    assert len(val) == 2 and val[-1] < val[0]
    assert last["loss"] < first["loss"] - 1.5
    assert summary["val_loss"] < math.log(VOCAB) - 0.75  # well below a uniform guess after 25K tokens
    assert (out / "loss.png").stat().st_size > 1000
    assert json.loads((out / "samples.jsonl").read_text().splitlines()[-1])["step"] == 100
    assert [s for s, _ in list_checkpoints(out / "checkpoints")] == [50, 100]
    state = load_checkpoint(out / "checkpoints" / "step_00000100.pt")
    assert state["tokenizer"]["vocab_size"] == VOCAB and state["data"]["windows"] == 100 * 8
    assert {"model", "optimizer", "schedule", "rng", "train_config", "model_config"} <= set(state)


def test_resume_continues_exactly(tokens_dir, tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    common = {"max_steps": 20, "tokens_per_step": 2 * 4 * 32, "checkpoint_every": 0, "eval_every": 5}
    train(tiny_config(tokens_dir, straight, **common), show_progress=False)
    train(tiny_config(tokens_dir, split, **common), stop_at=10, show_progress=False)
    assert [s for s, _ in list_checkpoints(split / "checkpoints")] == [10]
    summary = train(tiny_config(tokens_dir, split, **common), resume=True, show_progress=False)
    assert summary["step"] == 20
    a, b = read_metrics(straight / "metrics.jsonl"), read_metrics(split / "metrics.jsonl")
    assert [r["step"] for r in b] == list(range(1, 21))  # one history, no duplicated steps
    for ra, rb in zip(a, b, strict=True):
        assert (ra["loss"], ra["grad_norm"], ra.get("val_loss")) == (
            rb["loss"],
            rb["grad_norm"],
            rb.get("val_loss"),
        )
    wa = load_checkpoint(straight / "checkpoints" / "step_00000020.pt")["model"]
    wb = load_checkpoint(split / "checkpoints" / "step_00000020.pt")["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tokens_dir, tmp_path, monkeypatch):
    forward, calls = GPT.forward, [0]

    def poisoned(self, idx, targets=None, cache=None, last_only=False):
        logits, loss = forward(self, idx, targets, cache, last_only)
        if targets is not None and torch.is_grad_enabled():
            calls[0] += 1
            if calls[0] >= 8:
                loss = loss * float("nan")
        return logits, loss

    monkeypatch.setattr(GPT, "forward", poisoned)
    out = tmp_path / "run"
    with pytest.raises(FinemillError, match=r"loss is nan .* at step 8: .*step_00000005\.pt") as err:
        train(tiny_config(tokens_dir, out, checkpoint_every=5, eval_every=0), show_progress=False)
    assert "last good checkpoint" in str(err.value)
    assert [s for s, _ in list_checkpoints(out / "checkpoints")] == [5]
    state = load_checkpoint(out / "checkpoints" / "step_00000005.pt")
    assert all(torch.isfinite(t).all() for t in state["model"].values())


def test_checkpoint_is_written_before_the_evaluation_of_its_step(tokens_dir, tmp_path, monkeypatch):
    import finemill.train.loop as loop

    def crash(*args, **kwargs):
        raise RuntimeError("evaluation crashed")

    monkeypatch.setattr(loop, "evaluate", crash)
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="evaluation crashed"):
        train(tiny_config(tokens_dir, out, checkpoint_every=4, eval_every=4), show_progress=False)
    assert [s for s, _ in list_checkpoints(out / "checkpoints")] == [4]  # the crash at step 4 lost nothing


@pytest.mark.slow  # a whole run (7-17 s): out of the quick subset, which stays under 3 minutes
def test_ddp_two_ranks_with_torchrun_match_single_process(tokens_dir, tmp_path):
    settings = [
        "max_steps=6",
        "micro_batch_size=2",
        "tokens_per_step=128",
        "eval_every=3",
        "eval_batches=2",
        "log_every=1",
        "sample_every=0",
        "checkpoint_every=3",
        "warmup_steps=2",
        "lr=3e-3",
        "device=cpu",
        "model.n_layer=2",
        "model.n_head=2",
        "model.n_embd=64",
        "model.block_size=32",
    ]
    args = ["train", "--data", str(tokens_dir), "--no-progress"] + [a for s in settings for a in ("--set", s)]
    ddp_out = tmp_path / "ddp"
    proc = torchrun_cli(*args, "--out", str(ddp_out), timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((ddp_out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["step"] == 6
    assert (
        len(summary["rank_checksums"]) == 2 and summary["rank_checksums"][0] == summary["rank_checksums"][1]
    )

    # One process accumulating 2 micro-batches sees the same global batches: same losses.
    single_out = tmp_path / "single"
    assert cli_main([*args, "--out", str(single_out)]) == 0
    ddp, single = read_metrics(ddp_out / "metrics.jsonl"), read_metrics(single_out / "metrics.jsonl")
    assert [r["step"] for r in ddp] == list(range(1, 7))
    for a, b in zip(ddp, single, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)
        assert a.get("val_loss", 0) == pytest.approx(b.get("val_loss", 0), rel=1e-4)
    assert ddp[-1]["loss"] < ddp[0]["loss"]


def test_cli_train_then_sample(tokens_dir, tmp_path, capsys):
    out = tmp_path / "run"
    tiny = [
        "model.n_layer=1",
        "model.n_embd=32",
        "model.n_head=2",
        "model.block_size=16",
        "micro_batch_size=2",
    ]
    train = ["train", "--data", str(tokens_dir), "--out", str(out), "--max-steps", "4", "--device", "cpu"]
    train += ["--no-progress", *(arg for setting in tiny for arg in ("--set", setting))]
    checkpoints = ["sample_every=0", "keep_checkpoints=1", "checkpoint_every=2"]
    code = cli_main([*train, *(arg for setting in checkpoints for arg in ("--set", setting))])
    assert code == 0
    assert [s for s, _ in list_checkpoints(out / "checkpoints")] == [4]  # older ones pruned
    assert not list((out / "checkpoints").glob("*.tmp"))
    capsys.readouterr()
    sample = ["sample", str(out), "--prompt", "The", "--max-tokens", "12", "--seed", "1", "--device", "cpu"]
    code = cli_main([*sample, "--num-samples", "2"])
    printed = capsys.readouterr().out
    assert code == 0 and printed.startswith("The") and "-" * 40 in printed
    # Rerunning the finished command resumes and has nothing left to do.
    assert cli_main(train) == 0
    # A different model in the same folder is refused, not silently overwritten.
    assert (
        cli_main(["train", "--data", str(tokens_dir), "--out", str(out), "--device", "cpu", "--no-progress"])
        == 2
    )
    assert "checkpoint of another model" in capsys.readouterr().err
    assert cli_main(["sample", str(tmp_path / "nothing")]) == 2


# ----------------------------------------------------------------------------------------------------------
# CPU matmuls on oneDNN (finemill.model.cpu_linear)


def _loss_and_grads(model: GPT, x: torch.Tensor, y: torch.Tensor) -> tuple[float, dict[str, torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    _, loss = model(x, y)
    loss.backward()
    return loss.item(), {n: p.grad.clone() for n, p in model.named_parameters()}


def test_onednn_matmuls_match_torch_blas(tokens_dir):
    """The same loss and gradients, on real tokens, whether the linear layers run on oneDNN or torch's BLAS."""
    from finemill.model import cpu_linear

    torch.manual_seed(0)
    data = TokenData(tokens_dir)
    model = GPT(ModelConfig(vocab_size=data.vocab_size, n_layer=2, n_head=2, n_embd=64, block_size=32))
    x, y = next(TokenLoader(data, "train", 4, 32))
    assert cpu_linear.onednn_works()
    assert type(model.blocks[0].mlp.down(torch.randn(3, 192)).grad_fn).__name__ == "_OneDNNLinearBackward"
    onednn_loss, onednn_grads = _loss_and_grads(model, x, y)
    try:
        cpu_linear.use("torch")
        assert model.blocks[0].mlp.down(torch.randn(3, 192)).grad_fn.name() == "MmBackward0"
        loss, grads = _loss_and_grads(model, x, y)
    finally:
        cpu_linear.use("onednn")
    assert onednn_loss == pytest.approx(loss, rel=1e-6)
    for name, grad in grads.items():
        torch.testing.assert_close(onednn_grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # autocast picks its own kernels
        assert model.blocks[0].mlp.down(torch.randn(3, 192)).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="cpu_matmul must be one of onednn, torch, not 'mkl'"):
        cpu_linear.use("mkl")


def test_onednn_missing_falls_back_to_torch_with_a_warning(monkeypatch):
    from finemill.model import cpu_linear

    def missing(a, b):
        raise AttributeError("'_OpNamespace' 'mkldnn' object has no attribute '_linear_pointwise'")

    monkeypatch.setattr(cpu_linear, "_onednn_mm_nt", missing)
    cpu_linear.onednn_works.cache_clear()
    try:
        with pytest.warns(UserWarning, match="oneDNN linear unavailable .*; CPU matmuls use torch's BLAS"):
            layer_out = cpu_linear.linear(torch.randn(5, 8, requires_grad=True), torch.randn(4, 8))
        assert layer_out.grad_fn.name() in {"MmBackward0", "MvBackward0"}
    finally:
        cpu_linear.onednn_works.cache_clear()


def test_cpu_matmul_config_key(tmp_path):
    cfg = load_config(None, {"cpu_matmul": "torch"})
    assert cfg.cpu_matmul == "torch"
    with pytest.raises(FinemillError, match="cpu_matmul"):
        load_config(None, {"cpu_matmul": "mkl"})
