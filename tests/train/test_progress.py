"""What `finemill train` prints and logs around its steps: plain progress lines when stderr is not a
terminal (a log file), and the metrics line of a step stopped by Ctrl-C. Tiny CPU runs as in tests/train/test_train.py."""

from __future__ import annotations

import os
import signal

import pytest

import finemill.train.loop as loop
from finemill.cli import main as cli_main
from finemill.model.checkpoint import list_checkpoints
from finemill.train.interrupt import RunInterrupted
from finemill.train.loop import train
from finemill.train.metrics import read_metrics
from tests.train.test_train import corpus, one_thread, tiny_config, tokens_dir  # noqa: F401 (fixtures)

TINY = ["model.n_layer=1", "model.n_embd=32", "model.n_head=2", "model.block_size=16", "micro_batch_size=2"]


def test_off_a_terminal_progress_is_plain_lines(tokens_dir, tmp_path, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("FINEMILL_PROGRESS_INTERVAL", "0.1")
    args = ["train", "--data", str(tokens_dir), "--out", str(tmp_path / "run"), "--max-steps", "6"]
    args += ["--device", "cpu", *(a for s in [*TINY, "sample_every=0", "eval_every=3"] for a in ("--set", s))]
    assert cli_main(args) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("train: step ")]
    assert "\r" not in err and lines, err[-2000:]
    assert lines[-1].startswith("train: step 6/6 (100%), loss ")
    assert "tokens/s" in lines[-1] and "ETA" not in lines[-1]


def test_an_interrupted_step_writes_its_metrics_line(tokens_dir, tmp_path, monkeypatch):  # noqa: F811
    """Ctrl-C during step 3 is read at the next step boundary: the run stops after step 4, saved, and writes
    step 4's metrics line although log_every would skip it."""
    step = loop.train_step

    def ctrl_c_in_step_3(run, state, stop_requested=False):
        if state.step == 2:
            os.kill(os.getpid(), signal.SIGINT)  # recorded by the run's handler, read at the next step
        return step(run, state, stop_requested)

    monkeypatch.setattr(loop, "train_step", ctrl_c_in_step_3)
    out = tmp_path / "run"
    cfg = tiny_config(tokens_dir, out, max_steps=20, log_every=10, eval_every=0, checkpoint_every=0)
    with pytest.raises(RunInterrupted) as stopped:
        train(cfg, show_progress=False)
    assert stopped.value.exit_code == 130
    assert [r["step"] for r in read_metrics(out / "metrics.jsonl")] == [1, 4]
    assert [s for s, _ in list_checkpoints(out / "checkpoints")] == [4]
