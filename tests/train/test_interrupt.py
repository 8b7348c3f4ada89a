"""Ctrl-C (SIGINT) and SIGTERM during `finemill train`: the step in progress is finished and saved, the
process exits 130 or 143 with one line, and rerunning the same command resumes from that step to the
uninterrupted run's losses and weights, appending to metrics.jsonl.

The signal goes to the command's whole process group, as a terminal's Ctrl-C or a job scheduler's
SIGTERM does. Tiny model on CPU, token shards built as in tests/train/test_train.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from finemill.model.checkpoint import list_checkpoints, load_checkpoint
from finemill.train.metrics import read_metrics
from tests.train.test_train import VOCAB, load_texts, make_tokens_dir, train_tokenizer

# Long enough that the run is still going when the signal lands (after step 5: 35 steps of ~20-80 ms left,
# against a signal delivered within the 20 ms poll), short enough for the suite: three resumed runs and the
# uninterrupted one train all of them.
STEPS = 40
SETTINGS = [
    "micro_batch_size=4",
    "tokens_per_step=256",
    "lr=3e-3",
    "warmup_steps=3",
    "log_every=1",
    "eval_every=7",
    "eval_batches=2",
    "sample_every=0",
    "checkpoint_every=0",
    "device=cpu",
    "cpu_matmul=onednn",  # the same kernels in every process (auto could time differently in each)
    "model.n_layer=2",
    "model.n_head=2",
    "model.n_embd=64",
    "model.block_size=32",
]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}  # one thread: the same float sums in every run


def command(tokens: Path, out: Path, *extra: str, ranks: int = 1) -> list[str]:
    sets = [a for s in [*SETTINGS, *extra] for a in ("--set", s)]
    launch = (
        ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(ranks)] if ranks > 1 else []
    )
    return [
        sys.executable,
        *launch,
        "-m",
        "finemill.cli",
        "train",
        "--data",
        str(tokens),
        "--out",
        str(out),
        "--max-steps",
        str(STEPS),
        "--no-progress",
        *sets,
    ]


@pytest.fixture(scope="module")
def tokens(tmp_path_factory) -> Path:
    texts = load_texts()
    return make_tokens_dir(tmp_path_factory.mktemp("interrupt"), texts, train_tokenizer(texts[:250], VOCAB))


@pytest.fixture(scope="module")
def straight(tokens, tmp_path_factory) -> Path:
    """The uninterrupted run."""
    out = tmp_path_factory.mktemp("straight") / "run"
    proc = subprocess.run(command(tokens, out), env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def signal_after(cmd: list[str], metrics: Path, steps: int, sig: signal.Signals) -> tuple[int, str]:
    """Start `cmd` in its own process group, send `sig` to the group once `steps` metrics lines exist."""
    proc = subprocess.Popen(
        cmd, env=ENV, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    while not (metrics.exists() and len(metrics.read_text().splitlines()) >= steps):
        assert proc.poll() is None, f"the run ended before the signal: {proc.stderr.read()[-3000:]}"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


# SIGTERM also reads batches in DataLoader workers, which get the signal too and must not die of it
# (the batches are the same with or without workers). Both slow, as the pipeline's interrupt and kill runs
# are: two training processes each (interrupted, resumed) and the uninterrupted one they share.
@pytest.mark.slow
@pytest.mark.parametrize(
    "sig, extra",
    [(signal.SIGINT, []), (signal.SIGTERM, ["num_workers=2"])],
    ids=["SIGINT", "SIGTERM-workers"],
)
def test_signal_saves_the_step_and_rerun_resumes_exactly(tokens, straight, tmp_path, sig, extra):
    out = tmp_path / "run"
    code, err = signal_after(command(tokens, out, *extra), out / "metrics.jsonl", 5, sig)
    assert code == 128 + sig, err[-3000:]
    stopped = read_metrics(out / "metrics.jsonl")[-1]["step"]
    assert 5 <= stopped < STEPS
    # The step in progress was finished and saved (atomically: no temporary file left).
    assert [s for s, _ in list_checkpoints(out / "checkpoints")] == [stopped]
    assert not list((out / "checkpoints").glob("*.tmp"))
    last = err.strip().splitlines()[-1]  # one line about the stop, no traceback
    assert last.startswith(f"finemill train: stopped by {sig.name} after step {stopped} of {STEPS}; saved ")
    assert last.endswith("rerun the same command to resume") and "Traceback" not in err
    assert [r["step"] for r in read_metrics(out / "metrics.jsonl")] == list(range(1, stopped + 1))

    rerun = subprocess.run(command(tokens, out, *extra), env=ENV, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"resuming at step {stopped} from" in rerun.stdout
    a, b = read_metrics(straight / "metrics.jsonl"), read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in b] == list(range(1, STEPS + 1))  # appended: one history, nothing lost
    for ra, rb in zip(a, b, strict=True):
        assert (ra["loss"], ra["grad_norm"], ra.get("val_loss")) == (
            rb["loss"],
            rb["grad_norm"],
            rb.get("val_loss"),
        )
    last = f"step_{STEPS:08d}.pt"
    wa = load_checkpoint(straight / "checkpoints" / last)["model"]
    wb = load_checkpoint(out / "checkpoints" / last)["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert json.loads((out / "summary.json").read_text())["step"] == STEPS


@pytest.mark.slow
def test_signal_under_torchrun_stops_all_ranks_at_one_step(tokens, straight, tmp_path):
    """Ctrl-C reaches torchrun and both ranks (and torchrun forwards it again): the ranks agree on the step
    to stop after, save one checkpoint with both ranks' RNG states, and the resumed run goes on as one
    process would (same global batches: the losses of the single-process run)."""
    out = tmp_path / "ddp"
    code, err = signal_after(command(tokens, out, ranks=2), out / "metrics.jsonl", 5, signal.SIGINT)
    assert code != 0  # torchrun reports its own interruption
    stopped = read_metrics(out / "metrics.jsonl")[-1]["step"]
    assert [s for s, _ in list_checkpoints(out / "checkpoints")] == [stopped]
    state = load_checkpoint(out / "checkpoints" / f"step_{stopped:08d}.pt")
    assert state["world_size"] == 2 and len(state["rng"]) == 2
    assert (
        err.count(f"finemill train: stopped by SIGINT after step {stopped} of {STEPS}; saved") == 1
    )  # rank 0 only

    rerun = subprocess.run(
        command(tokens, out, ranks=2), env=ENV, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    a, b = read_metrics(straight / "metrics.jsonl"), read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in b] == list(range(1, STEPS + 1))
    for ra, rb in zip(a, b, strict=True):
        assert rb["loss"] == pytest.approx(ra["loss"], rel=1e-4)
        assert rb.get("val_loss", 0) == pytest.approx(ra.get("val_loss", 0), rel=1e-4)
