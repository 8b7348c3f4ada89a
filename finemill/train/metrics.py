"""Metrics: the JSONL log, model FLOPs utilization (MFU) and the loss-curve plot."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

# Dense (no sparsity) tensor-core peaks in TFLOP/s from NVIDIA's datasheets: (bf16/fp16, tf32). A float32
# run on CUDA uses TF32 tensor cores (the trainer sets matmul precision "high"), so it is measured against
# the TF32 peak, half the bf16 one. Keys are whole words of torch.cuda.get_device_name() ("NVIDIA L40S",
# "NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB"), so "L4" never matches "L40"; the first entry whose
# words all occur wins, so variants (PCIe, NVL) come before the plain name (the SXM part).
PEAK_TFLOPS: list[tuple[tuple[str, ...], float, float]] = [
    (("GH200",), 989.0, 495.0),
    (("H200", "NVL"), 835.0, 418.0),
    (("H200",), 989.0, 495.0),  # SXM
    (("H100", "PCIE"), 756.0, 378.0),
    (("H100", "NVL"), 835.0, 418.0),
    (("H100",), 989.0, 495.0),  # SXM
    (("B200",), 2250.0, 1125.0),
    (("A100",), 312.0, 156.0),
    (("L40S",), 362.0, 183.0),
    (("L40",), 181.0, 90.5),
    (("L4",), 121.0, 60.0),
    (("A10G",), 70.0, 35.0),
    (("A10",), 125.0, 62.5),
    (("RTX", "4090"), 165.0, 82.6),
    (("RTX", "3090"), 71.0, 35.6),
]


def peak_tflops(device_name: str, dtype: str) -> float | None:
    """The dense peak of a GPU for the run's compute dtype ("bfloat16"/"float16": bf16 tensor cores;
    "float32": TF32), from its name; None if the GPU or the dtype is not in the table."""
    words = set(re.findall(r"[A-Z0-9]+", device_name.upper()))
    column = {"bfloat16": 0, "float16": 0, "float32": 1}.get(dtype)
    if column is None:
        return None
    for keys, *peaks in PEAK_TFLOPS:
        if words.issuperset(keys):
            return peaks[column]
    return None


def mfu(flops_per_token: float, tokens_per_s: float, peak_tflops_total: float) -> float:
    """Model FLOPs utilization: achieved model FLOP/s over the accelerators' peak (all ranks together)."""
    return flops_per_token * tokens_per_s / (peak_tflops_total * 1e12)


class MetricsLog:
    """OUT/metrics.jsonl, one JSON object per line. On resume, lines past the resumed step are dropped so
    the log describes exactly one history."""

    def __init__(self, path: str | Path, resume_step: int | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is None:
            self.path.write_text("")
        elif self.path.exists():
            kept = [line for line in self.path.read_text().splitlines() if _step_of(line) <= resume_step]
            self.path.write_text("".join(line + "\n" for line in kept))

    def write(self, record: dict[str, Any]) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")


def _step_of(line: str) -> float:
    try:
        return json.loads(line).get("step", math.inf)
    except (json.JSONDecodeError, AttributeError):
        return math.inf


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_loss_curve(
    metrics_path: str | Path,
    png_path: str | Path,
    vocab_size: int | None = None,
    headline: dict[str, str] | None = None,
) -> Path | None:
    """Train and validation loss against step, with the uniform-guess loss ln(vocab) for scale; below it,
    when logged, validation bits per byte and the benchmark scores (`headline`: the metric drawn for each
    task, acc_norm when not given)."""
    records = read_metrics(metrics_path)
    train, val = _series(records, "loss"), _series(records, "val_loss")
    if not train and not val:
        return None
    bpb = _series(records, "val_bpb")
    tasks = sorted(
        {k.split("/")[1] for r in records for k in r if k.startswith("eval/") and k.count("/") == 2}
    )
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    panels = 1 + bool(bpb) + bool(tasks)
    fig, axes = plt.subplots(
        panels,
        1,
        figsize=(7, 4.2 + 2.4 * (panels - 1)),
        dpi=120,
        sharex=True,
        gridspec_kw={"height_ratios": [1.6] + [1] * (panels - 1)},
        squeeze=False,
    )
    axes = list(axes[:, 0])
    _plot_losses(axes[0], train, val, vocab_size)
    if bpb:
        _plot_bpb(axes[1], bpb)
    if tasks:
        _plot_tasks(axes[-1], records, tasks, headline or {})
    for a in axes:
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    axes[-1].set_xlabel("optimizer step")
    fig.tight_layout()
    png_path = Path(png_path)
    fig.savefig(png_path)
    plt.close(fig)
    return png_path


def _plot_losses(ax, train: list, val: list, vocab_size: int | None) -> None:
    if train:
        ax.plot(*zip(*train, strict=True), label="train loss", color="#1f77b4", linewidth=1.2)
    if val:
        ax.plot(
            *zip(*val, strict=True),
            "o-",
            label="validation loss",
            color="#d62728",
            markersize=3.5,
            linewidth=1.2,
        )
    if vocab_size:
        ax.axhline(
            math.log(vocab_size),
            color="gray",
            linestyle="--",
            linewidth=1,
            label=f"uniform guess, ln({vocab_size}) = {math.log(vocab_size):.2f}",
        )
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_title("finemill training loss")


def _plot_bpb(ax, bpb: list) -> None:
    ax.plot(
        *zip(*bpb, strict=True),
        "o-",
        color="#9467bd",
        markersize=3.5,
        linewidth=1.2,
        label="validation bits per byte",
    )
    ax.set_ylabel("bits per byte")


def _plot_tasks(ax, records: list[dict[str, Any]], tasks: list[str], headline: dict[str, str]) -> None:
    for name in tasks:
        metric = headline.get(name, "acc_norm")
        points = _series(records, f"eval/{name}/{metric}")
        if points:
            ax.plot(*zip(*points, strict=True), "o-", markersize=3.5, linewidth=1.2, label=f"{name} {metric}")
    ax.set_ylabel("benchmark accuracy")


def _series(records: list[dict[str, Any]], key: str) -> list[tuple[int, float]]:
    return [(r["step"], r[key]) for r in records if key in r]
