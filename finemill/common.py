"""Helpers every stage may use, at the bottom of the library: how numbers are written for people, how a
small file is replaced whole, and which torch device and how many CPU threads a command runs on. Nothing here imports another finemill
module but `errors`, and torch is imported only by the functions that need it (the data stages never do)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from finemill.errors import FinemillError

if TYPE_CHECKING:
    import torch

INTERVAL_ENV = "FINEMILL_PROGRESS_INTERVAL"  # seconds between plain progress lines off a terminal
DEFAULT_INTERVAL_S = 30.0


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` under a temporary name of this process, then rename: readers never see half a file, and
    two processes writing the same file at once each rename a whole one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def share(part: int, whole: int) -> str:
    """`part` as a percentage of `whole`, one decimal ("-" when there is no whole)."""
    return f"{100 * part / whole:.1f}%" if whole else "-"


def human_chars(n: int) -> str:
    """A character count with a k/M/G suffix: 1234567 -> 1.2M."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def top_reasons(removed: dict[str, int], top: int = 2) -> str:
    """The `top` most frequent reasons with their counts: "too_short 1,204, lorem_ipsum 3"."""
    items = sorted(removed.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"{k} {v:,}" for k, v in items)


def plain_interval() -> float:
    """Seconds between plain progress lines when stderr is not a terminal (`run`, `train`)."""
    try:
        return max(0.1, float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL_S)))
    except ValueError:
        return DEFAULT_INTERVAL_S


def duration(seconds: float) -> str:
    """A duration for people: 42s, 3m05s, 2h07m."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"


def resolve_device(setting: str, local_rank: int = 0) -> torch.device:
    """The torch device a `--device` setting names: auto (CUDA if torch sees a GPU, else CPU), cpu, cuda,
    cuda:N or mps; under torchrun, `cuda` means this process's local rank's GPU."""
    import torch

    if setting == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    if setting.startswith("cuda"):
        if not torch.cuda.is_available():
            raise FinemillError(f"device {setting!r} asked for, but torch sees no CUDA GPU")
        return torch.device(f"cuda:{local_rank}" if setting == "cuda" else setting)
    if setting == "mps" and not torch.backends.mps.is_available():
        raise FinemillError("device 'mps' asked for, but it is not available")
    try:
        return torch.device(setting)
    except RuntimeError:
        raise FinemillError(f"unknown device {setting!r} (use auto, cpu, cuda, cuda:N or mps)") from None


def set_cpu_threads(threads: int) -> None:
    """Let torch's CPU kernels use `threads` threads in this process (several processes sharing a
    machine each take their share)."""
    import torch

    torch.set_num_threads(max(1, threads))
