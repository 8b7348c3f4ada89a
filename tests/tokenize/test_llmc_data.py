"""`finemill train --data` on llm.c `.bin` shards: the same batches as the parquet shards of the same pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from finemill.errors import FinemillError
from finemill.model.checkpoint import load_checkpoint
from finemill.tokenize.formats.llmc import header
from finemill.tokenize.llmc_data import LlmcData, is_llmc
from finemill.tokenize.token_source import open_tokens
from finemill.tokenize.tokens_folder import TokenData
from finemill.train.data import TokenLoader
from finemill.train.loop import train
from tests.tokenize.test_formats import generated_formats  # noqa: F401  (the fixture)
from tests.train.test_train import tiny_config


def batches(data, split: str, n: int) -> list[torch.Tensor]:
    loader = TokenLoader(data, split, batch_size=4, seq_len=32, shuffle=False)
    return [next(loader)[0] for _ in range(n)]


def test_llmc_shards_give_the_parquet_batches(generated_formats):  # noqa: F811
    out, manifest = generated_formats
    tokens = out / "tokens"
    parquet, llmc = TokenData(tokens), open_tokens(tokens / "llmc")
    assert isinstance(llmc, LlmcData) and is_llmc(str(tokens / "llmc" / "*_train_*.bin"))
    assert (llmc.vocab_size, llmc.eot_id, llmc.dir) == (parquet.vocab_size, parquet.eot_id, parquet.dir)
    for split in ("train", "val"):
        assert sum(u.documents for u in llmc.units(split)) == manifest["splits"][split]["documents"]
        assert sum(u.tokens for u in llmc.units(split)) == manifest["splits"][split]["tokens"]
    for a, b in zip(batches(parquet, "train", 5), batches(llmc, "train", 5), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(batches(parquet, "val", 1)[0], batches(llmc, "val", 1)[0])
    shuffled = TokenLoader(llmc, "train", batch_size=4, seq_len=32, seed=1)
    assert next(shuffled)[0].shape == (4, 32)  # documents shuffled inside units, as for row groups


def test_train_a_few_steps_on_llmc_shards(generated_formats, tmp_path):  # noqa: F811
    out, _ = generated_formats
    glob = str(out / "tokens" / "llmc" / "*.bin")
    cfg = tiny_config(glob, tmp_path / "run", max_steps=3, eval_every=3, eval_batches=1, checkpoint_every=3)
    summary = train(cfg, show_progress=False)
    assert np.isfinite(summary["val_loss"])
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "step_00000003.pt")
    assert state["tokenizer"]["sha256"] == TokenData(out / "tokens").tokenizer_sha256


def test_llmc_shards_made_elsewhere(tmp_path):
    """A GPT-2 llm.c shard with no manifest: llm.c's vocabulary, and a document continued from a previous file."""
    eot = 50256
    tokens = np.array([5, 6, eot, 1, 2, 3, eot, 9], dtype=np.uint16)  # 5 6: the end of a previous document
    path = tmp_path / "fineweb_train_000001.bin"
    path.write_bytes(header(np.uint16, len(tokens)).tobytes() + tokens.tobytes())
    data = LlmcData(tmp_path)
    assert (data.vocab_size, data.eot_id, data.check_tokenizer_file()) == (50257, eot, False)
    (unit,) = data.units("train")
    assert (unit.documents, unit.tokens) == (3, 6)
    lengths, values = data.documents(unit)
    assert lengths.tolist() == [2, 3, 1] and values.tolist() == [5, 6, 1, 2, 3, 9]
    path.write_bytes(header(np.uint16, len(tokens) + 1).tobytes() + tokens.tobytes())
    with pytest.raises(FinemillError, match="size does not match"):
        LlmcData(path)
