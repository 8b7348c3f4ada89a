"""`finemill export`: a trained checkpoint as a transformers model folder, and the tokenizer as HF users load it.

Models are tiny (2 layers, width 64, context 64) and trained for a few dozen steps on CPU, on token shards
that `finemill tokenize` writes from real web text (shared/data, skipped when absent) and from the bundled
sample. The exported folder is loaded back offline through transformers' Auto classes and compared with
finemill's own model, tokenizer and sampler.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

os.environ["HF_HUB_OFFLINE"] = "1"  # everything loads from local folders; nothing may be fetched

from finemill.cli import main as cli_main  # noqa: E402
from finemill.errors import FinemillError  # noqa: E402
from finemill.export import export_checkpoint  # noqa: E402
from finemill.model.generate import generate  # noqa: E402
from finemill.model.loading import load_model  # noqa: E402
from finemill.tokenize.encoder import Encoder  # noqa: E402
from finemill.tokenize.run import tokenize_run  # noqa: E402
from finemill.tokenize.shards import ShardSettings  # noqa: E402
from finemill.train.config import load_config  # noqa: E402
from finemill.train.loop import train  # noqa: E402
from tests.conftest import shared_file  # noqa: E402

transformers = pytest.importorskip("transformers")

EOT = "<|endoftext|>"
BLOCK = 64
# A document that holds the end-of-text token as literal text, as web pages about tokenizers do.
LITERAL_EOT_DOC = (
    "Language models mark the end of a document with a special token. In GPT-2 it is written "
    f"{EOT} and a page that quotes it, like this one, should still read as plain text: {EOT}."
)


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared; also makes CPU results reproducible
    yield
    torch.set_num_threads(before)


def train_tiny(tokens: Path, out: Path, steps: int, lr: float = 3e-3, **model) -> Path:
    overrides = {
        "data": str(tokens),
        "out": str(out),
        "micro_batch_size": 8,
        "max_steps": steps,
        "lr": lr,
        "warmup_steps": 5,
        "log_every": 0,
        "eval_every": 0,
        "sample_every": 0,
        "checkpoint_every": 0,
        "device": "cpu",
        "cpu_matmul": "torch",  # not `auto`, which picks by timing: the same model whatever the machine's load
        "model.n_layer": 2,
        "model.n_head": 2,
        "model.n_embd": 64,
        "model.block_size": BLOCK,
        **{f"model.{k}": v for k, v in model.items()},
    }
    train(load_config(None, overrides), show_progress=False)
    return out


def real_documents() -> list[tuple[str, str]]:
    path = shared_file("crawl/CC-MAIN-2019-30-extracted-text.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        docs = [(f"cc-{i}", json.loads(line)["text"][:4000]) for i, line in enumerate(f)]
    return [(i, t) for i, t in docs if t.strip()] + [("literal-eot", LITERAL_EOT_DOC)]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> dict:
    """OUT with documents from the 697 real CC-MAIN-2019-30 texts, tokenized by finemill, and a tiny model."""
    docs = real_documents()
    out = tmp_path_factory.mktemp("real")
    (out / "documents").mkdir()
    pq.write_table(
        pa.table({"id": [d[0] for d in docs], "text": [d[1] for d in docs]}),
        out / "documents" / "00000.parquet",
        row_group_size=200,
    )
    tokenize_run(
        out, vocab_size=1000, sample_bytes=0, settings=ShardSettings(val_fraction=0.05), log=lambda s: None
    )
    run = train_tiny(out / "tokens", out / "train", steps=60)
    return {"out": out, "tokens": out / "tokens", "run": run, "docs": dict(docs)}


@pytest.fixture(scope="module")
def real_export(real_run, tmp_path_factory) -> Path:
    return export_checkpoint(real_run["run"], tmp_path_factory.mktemp("hf") / "model")


@pytest.fixture(scope="module")
def sample_model(sample_tokens, tmp_path_factory) -> Path:
    """Trained enough (300 steps, ~20 s) that greedy decoding is not one token repeated."""
    return train_tiny(sample_tokens, tmp_path_factory.mktemp("sample") / "train", steps=300, lr=1e-2)


def load_hf(folder: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(folder)


def document_batch(texts: list[str], tokenizer) -> torch.Tensor:
    """(B, BLOCK) ids: each text as a document start (end-of-text first), cut to the context."""
    rows = [tokenizer(t)["input_ids"][:BLOCK] for t in texts]
    rows = [r for r in rows if len(r) == BLOCK]
    assert len(rows) >= 2, "texts too short for one context"
    return torch.tensor(rows)


def max_logit_gap(run: Path, folder: Path, texts: list[str]) -> float:
    ours = load_model(run).model
    hf, tok = load_hf(folder)
    idx = document_batch(texts, tok)
    with torch.no_grad():
        a = ours(idx)[0][..., : ours.config.vocab_size]  # (B, T, V): the padded rows are not exported
        b = hf(idx).logits  # (B, T, V)
    assert a.shape == b.shape
    assert a.std() > 0.5  # a trained model's logits, not all near zero
    return float((a - b).abs().max())


# ----------------------------------------------------------------------------------------------------------
# The model


def test_export_real_text_logits_match(real_run, real_export):
    files = {p.name for p in real_export.iterdir()}
    assert {
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    } <= files
    config = json.loads((real_export / "config.json").read_text())
    manifest = json.loads((real_run["tokens"] / "manifest.json").read_text())
    vocab, eot_id = manifest["tokenizer"]["vocab_size"], manifest["tokenizer"]["eot_id"]
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert config["vocab_size"] == vocab and vocab % 64  # a vocab with padding rows, which are dropped
    assert config["bos_token_id"] == config["eos_token_id"] == eot_id
    assert config["max_position_embeddings"] == BLOCK and config["tie_word_embeddings"] is True
    from safetensors import safe_open

    with safe_open(str(real_export / "model.safetensors"), "pt") as f:
        assert f.get_slice("model.embed_tokens.weight").get_shape() == [vocab, 64]
    texts = [t for t in real_run["docs"].values() if len(t) > 1500][:6]
    gap = max_logit_gap(real_run["run"], real_export, texts)
    assert gap < 1e-4, gap


@pytest.mark.slow  # the bundled sample run, its tokenization and 300 training steps: ~60 s
def test_export_sample_logits_and_greedy_generation_match(sample_model, sample_run, tmp_path, capsys):
    folder = export_checkpoint(sample_model, tmp_path / "model")
    texts = pq.read_table(next((sample_run / "documents").glob("*.parquet")), columns=["text"])["text"]
    assert max_logit_gap(sample_model, folder, texts.to_pylist()[:8]) < 1e-4

    loaded = load_model(sample_model)
    ours, state = loaded.model, loaded.state
    hf, tok = load_hf(folder)
    eot_id = state["tokenizer"]["eot_id"]
    for prompt in ("The council", "In the morning the market"):
        enc = tok(prompt, return_tensors="pt")
        assert enc["input_ids"][0, 0] == eot_id  # a document start, as finemill sample prompts it
        with torch.no_grad():
            want = generate(ours, enc["input_ids"], 32, temperature=0, stop_id=eot_id)[0].tolist()
            got = hf.generate(**enc, max_new_tokens=32, do_sample=False)[0].tolist()
        assert got == want
        new = want[enc["input_ids"].shape[1] :]
        assert len(new) == 32 or new[-1] == eot_id
        assert len(set(new)) > 8  # not a degenerate repetition of a token or two
        # The same through the command line, which decodes: its text is the HF tokenizer's decoding.
        assert (
            cli_main(
                [
                    "sample",
                    str(sample_model),
                    "--prompt",
                    prompt,
                    "--max-tokens",
                    "32",
                    "--temperature",
                    "0",
                    "--device",
                    "cpu",
                ]
            )
            == 0
        )
        text = capsys.readouterr().out
        hf_text = tok.decode(new[: new.index(eot_id)] if eot_id in new else new)  # sample cuts at end-of-text
        assert text == prompt + hf_text + "\n"


@pytest.mark.slow  # the bundled sample (shared with the test above) and 30 training steps
def test_untied_embeddings_export(sample_tokens, sample_run, tmp_path):
    run = train_tiny(sample_tokens, tmp_path / "train", steps=30, tie_embeddings=False)
    folder = export_checkpoint(run, tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    assert config["tie_word_embeddings"] is False
    hf, _ = load_hf(folder)
    assert not torch.equal(hf.lm_head.weight, hf.model.embed_tokens.weight)
    texts = pq.read_table(next((sample_run / "documents").glob("*.parquet")), columns=["text"])["text"]
    assert max_logit_gap(run, folder, texts.to_pylist()[:8]) < 1e-4


# ----------------------------------------------------------------------------------------------------------
# The tokenizer


def shard_rows(tokens: Path) -> dict[str, list[int]]:
    rows = {}
    for path in sorted(tokens.glob("*/shard_*.parquet")):
        table = pq.read_table(path, columns=["id", "input_ids"])
        rows.update(zip(table["id"].to_pylist(), table["input_ids"].to_pylist(), strict=True))
    return rows


def test_auto_tokenizer_gives_the_shard_ids(real_run, real_export):
    from transformers import AutoTokenizer

    shards = shard_rows(real_run["tokens"])
    eot_id = json.loads((real_run["tokens"] / "manifest.json").read_text())["tokenizer"]["eot_id"]
    ids = sorted(shards)[::7]
    texts = [real_run["docs"][i] for i in ids]
    exported = AutoTokenizer.from_pretrained(real_export)
    folder = AutoTokenizer.from_pretrained(real_run["tokens"])  # the tokens folder loads too
    encoder = Encoder.from_file(real_run["tokens"] / "tokenizer.json")
    for i, text in zip(ids, texts, strict=True):
        assert exported(text)["input_ids"] == [eot_id] + shards[i]  # a document start, then the shard's ids
        assert exported(text, add_special_tokens=False)["input_ids"] == shards[i]
        assert folder(text)["input_ids"] == shards[i] == encoder.encode(text)
        assert exported.decode(shards[i]) == text
    for tok in (exported, folder):
        assert tok.eos_token_id == tok.bos_token_id == tok.pad_token_id == eot_id
        batch = tok(texts[:4], padding=True, return_tensors="pt")
        lengths = batch["attention_mask"].sum(1)
        assert batch["input_ids"].shape[1] == lengths.max() and lengths.min() < lengths.max()
        assert (batch["input_ids"][batch["attention_mask"] == 0] == eot_id).all()


def test_literal_endoftext_is_text_in_shards_and_in_transformers(real_run, real_export):
    from transformers import AutoTokenizer

    eot_id = json.loads((real_run["tokens"] / "manifest.json").read_text())["tokenizer"]["eot_id"]
    shard_ids = shard_rows(real_run["tokens"])["literal-eot"]
    tok = AutoTokenizer.from_pretrained(real_export)
    # Text -> ids: the literal is ordinary text on both paths, never the end-of-text id.
    assert eot_id not in shard_ids
    assert tok(LITERAL_EOT_DOC, add_special_tokens=False)["input_ids"] == shard_ids
    assert tok.decode(shard_ids) == LITERAL_EOT_DOC
    # Ids -> text: the end-of-text id decodes to its text (or to nothing when special tokens are skipped),
    # and that text read back is text again: only ids, never strings, carry a document boundary.
    ids = tok("first document")["input_ids"] + [eot_id] + tok("second", add_special_tokens=False)["input_ids"]
    assert ids.count(eot_id) == 2
    assert tok.decode(ids) == f"{EOT}first document{EOT}second"
    assert tok.decode(ids, skip_special_tokens=True) == "first documentsecond"
    assert tok(tok.decode(ids), add_special_tokens=False)["input_ids"].count(eot_id) == 0


# ----------------------------------------------------------------------------------------------------------
# Errors


def test_export_errors_are_one_line(real_run, real_export, tmp_path, capsys):
    def fails(*args: str) -> str:
        assert cli_main(["export", *args]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and err.startswith("finemill export: error:")
        return err

    assert "no checkpoint" in fails(str(tmp_path), "--out", str(tmp_path / "m"))
    assert "not empty" in fails(str(real_run["run"]), "--out", str(real_export))
    assert "tokenizer file not found" in fails(
        str(real_run["run"]), "--out", str(tmp_path / "m"), "--tokenizer", str(tmp_path / "missing.json")
    )
    other = tmp_path / "other.json"
    other.write_text((real_run["tokens"] / "tokenizer.json").read_text().replace("\n", "\n "))
    assert "sha256 differs" in fails(
        str(real_run["run"]), "--out", str(tmp_path / "m"), "--tokenizer", str(other)
    )
    assert not (tmp_path / "m").exists()
    # --force replaces a non-empty folder, stale files included.
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "pytorch_model.bin").write_text("stale")
    assert cli_main(["export", str(real_run["run"]), "--out", str(tmp_path / "m"), "--force"]) == 0
    assert (
        not (tmp_path / "m" / "pytorch_model.bin").exists()
        and (tmp_path / "m" / "model.safetensors").is_file()
    )
    with pytest.raises(FinemillError, match="not empty"):
        export_checkpoint(real_run["run"], tmp_path / "m")
    with pytest.raises(FinemillError, match="refusing to replace"):  # --force never deletes the run itself
        export_checkpoint(real_run["run"], real_run["out"], force=True)
    assert (real_run["run"] / "checkpoints").is_dir()
