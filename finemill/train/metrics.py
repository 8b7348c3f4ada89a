"""Metrics: the JSONL log, model FLOPs utilization (MFU) and the loss-curve plot."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

# Dense bf16 tensor-core peaks in TFLOP/s (no sparsity), from NVIDIA's datasheets. Order matters: the
# first name found in torch.cuda.get_device_name() wins, so specific names come before general ones.
PEAK_BF16_TFLOPS = [
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("GH200", 989.0),
    ("H200", 989.0),
    ("H100", 989.0),  # SXM
    ("B200", 2250.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("A10G", 70.0),
    ("A10", 125.0),
    ("RTX 4090", 165.0),
    ("RTX 3090", 71.0),
]


def peak_tflops(device_name: str) -> float | None:
    """The bf16 peak of a GPU from its name, or None if it is not in the table."""
    for name, tflops in PEAK_BF16_TFLOPS:
        if name in device_name:
            return tflops
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


def plot_loss_curve(metrics_path: str | Path, png_path: str | Path, vocab_size: int | None = None) -> Path | None:
    """Train and validation loss against step, with the uniform-guess loss ln(vocab) for scale."""
    records = read_metrics(metrics_path)
    train = [(r["step"], r["loss"]) for r in records if "loss" in r]
    val = [(r["step"], r["val_loss"]) for r in records if "val_loss" in r]
    if not train and not val:
        return None
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    if train:
        ax.plot([s for s, _ in train], [v for _, v in train], label="train loss", color="#1f77b4", linewidth=1.2)
    if val:
        ax.plot([s for s, _ in val], [v for _, v in val], "o-", label="validation loss", color="#d62728", markersize=3.5, linewidth=1.2)
    if vocab_size:
        ax.axhline(math.log(vocab_size), color="gray", linestyle="--", linewidth=1,
                   label=f"uniform guess, ln({vocab_size}) = {math.log(vocab_size):.2f}")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_title("finemill training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    png_path = Path(png_path)
    fig.savefig(png_path)
    plt.close(fig)
    return png_path
