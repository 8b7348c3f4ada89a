"""The whole chain on the bundled sample: run -> tokenize -> train (tiny config) -> sample."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_tiny_training_on_sample_shards_learns_and_samples(sample_tokens, tmp_path):
    out = tmp_path / "train"
    train = subprocess.run(
        [
            sys.executable,
            "-m",
            "finemill.cli",
            "train",
            "--config",
            "configs/train-tiny.yaml",
            "--data",
            str(sample_tokens),
            "--out",
            str(out),
            "--max-steps",
            "60",
            "--no-progress",
            "--set",
            "eval_every=30",
            "--set",
            "sample_every=60",
            "--set",
            "checkpoint_every=60",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert train.returncode == 0, train.stderr[-3000:]
    vocab = json.loads((sample_tokens / "manifest.json").read_text())["tokenizer"]["vocab_size"]
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    val = [m["val_loss"] for m in metrics if "val_loss" in m]
    assert val[-1] < val[0] and val[-1] < math.log(vocab) - 1.5
    sample = subprocess.run(
        [
            sys.executable,
            "-m",
            "finemill.cli",
            "sample",
            str(out),
            "--prompt",
            "The council",
            "--max-tokens",
            "20",
            "--seed",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert sample.returncode == 0, sample.stderr[-3000:]
    assert "The council" in sample.stdout and len(sample.stdout.split()) > 5
