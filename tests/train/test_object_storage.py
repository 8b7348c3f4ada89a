"""`finemill train --data s3://...`: training reads the token shards from object storage (moto's server,
tests/s3_server.py) through a local copy, and trains exactly as on the same shards in a local folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from finemill.cli import main as cli_main
from finemill.train.loop import train
from finemill.train.setup import default_out
from tests.train.test_train import losses, one_thread, tiny_config  # noqa: F401 (fixture)


@pytest.mark.slow
def test_training_reads_shards_from_object_storage(sample_tokens, s3_env, tmp_path, capsys):
    url = f"{s3_env.bucket('finemill-train')}/out/tokens"
    s3_env.upload(sample_tokens, url)
    runs = {}
    for name, data in (("remote", url), ("local", str(sample_tokens))):
        cfg = tiny_config(Path(data) if name == "local" else data, tmp_path / name, max_steps=4, eval_every=4)
        train(cfg, show_progress=False)
        runs[name] = losses(tmp_path / name)
    assert runs["remote"] == runs["local"] and len(runs["remote"]) == 4


def test_tokens_on_object_storage_train_into_the_current_folder(sample_tokens, s3_env, monkeypatch, tmp_path):
    """Checkpoints go to local disk: without --out, train-<config> in the current folder."""
    from finemill.tokenize.token_source import open_tokens

    url = f"{s3_env.bucket('finemill-train')}/default/tokens"
    s3_env.upload(sample_tokens, url)
    monkeypatch.chdir(tmp_path)
    assert default_out(open_tokens(url), "train-tiny", url) == tmp_path / "train-tiny"


def test_a_missing_bucket_is_one_line(s3_env, tmp_path, capsys):
    argv = ["train", "--config", "train-tiny", "--data", "s3://no-such-bucket/tokens", "--out", str(tmp_path)]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err
        == f"finemill train: error: s3://no-such-bucket/tokens: no bucket 'no-such-bucket' at {s3_env.endpoint}"
    )
