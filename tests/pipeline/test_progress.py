"""`finemill run`'s progress: one line per stage with documents read and kept, on a terminal (a real
pseudo-terminal) and off one (plain lines every FINEMILL_PROGRESS_INTERVAL seconds), and none of
datatrove's own tqdm bars spliced into it."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from finemill import run_folder

RUN = [sys.executable, "-m", "finemill.cli", "run", "--workers", "2", "--quiet", "--output"]
TQDM_TEXT = ("Reading dup files", "Document progress", "File progress", "it/s]")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_on_a_terminal(out: Path) -> tuple[int, str]:
    """`finemill run` with stdout and stderr on a pseudo-terminal; its exit status and what it printed."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [*RUN, str(out)],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "COLUMNS": "200"},
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: every process writing to it has ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    return process.wait(), b"".join(chunks).decode("utf-8", "replace")


def task_counts(out: Path, stage: str) -> tuple[int, int]:
    """Documents read and kept by a stage's tasks, as their progress files say."""
    files = sorted(run_folder.progress(out, stage).glob("*.json"))
    counts = [json.loads(f.read_text()) for f in files]
    return sum(c["read"] for c in counts), sum(c["kept"] for c in counts)


@pytest.mark.slow  # a run of the whole sample of its own, on a pseudo-terminal
def test_terminal_shows_one_live_line_per_stage(tmp_path):
    out = tmp_path / "out"
    status, shown = run_on_a_terminal(out)
    assert status == 0, shown[-3000:]
    assert not any(text in shown for text in TQDM_TEXT), shown[-3000:]
    assert "\x1b[" in shown, "a live display redraws its line"
    lines = [ANSI.sub("", line).strip() for line in re.split(r"[\r\n]+", shown)]
    read, kept = task_counts(out, "filter")
    # the stage's last line: its tasks, the documents its tasks read and kept, its time
    assert f"[1/4] filter: 2 task(s), {read:,} read, {kept:,} kept," in "\n".join(lines), shown[-3000:]
    assert 0 < kept < read
    documents = sum(1 for _ in _rows(out))
    assert f"[4/4] finalize: 2 task(s), {kept:,} read, {documents:,} kept," in "\n".join(lines)
    assert any(re.match(r"\[1/4\] filter: \d/2 tasks, ", line) for line in lines), (
        "the live line while it runs"
    )
    for stage in ("buckets", "clusters"):
        finals = [
            line for line in lines if line.startswith(f"[{2 if stage == 'buckets' else 3}/4] {stage}: ")
        ]
        assert finals and re.fullmatch(r"\[\d/4\] \w+: \d+ task\(s\), [\d.]+s", finals[-1]), finals


def _rows(out: Path):
    import pyarrow.parquet as pq

    for path in sorted(run_folder.documents(out).glob("*.parquet")):
        yield from range(pq.read_metadata(path).num_rows)


def test_off_a_terminal_progress_is_plain_periodic_lines(sample_run):
    """The session's `finemill run` of the sample (conftest's `sample_run`: 2 workers, exit status checked
    there), run off a terminal with FINEMILL_PROGRESS_INTERVAL=0.5: its stderr."""
    out = sample_run
    stderr = (out.parents[1] / "cli_stderr.txt").read_text()
    assert "\x1b[" not in stderr and "\r" not in stderr
    assert not any(text in stderr for text in TQDM_TEXT)
    lines = stderr.splitlines()
    assert lines[0] == "[1/4] filter: 2 task(s)"
    running = [
        line
        for line in lines
        if re.match(
            r"\[1/4\] filter: \d/2 tasks, [\d,]+ read, [\d,]+ kept, "
            r"[\d,.]+ docs/s, \d+% of input(, ETA \w+)?, \w+$",
            line,
        )
    ]
    assert running, stderr[-3000:]
    read, kept = task_counts(out, "filter")
    assert f"[1/4] filter: 2 task(s), {read:,} read, {kept:,} kept," in stderr
