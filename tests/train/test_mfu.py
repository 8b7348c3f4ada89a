"""MFU: the FLOPs-per-token formula against PyTorch's own FLOP counter, and the GPU peak lookup by name and dtype."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from finemill.model.gpt import GPT
from finemill.train.config import load_config
from finemill.train.metrics import mfu, peak_tflops
from tests.conftest import REPO


def _counted_flops_per_token(config: str, vocab: int, batch: int = 2) -> tuple[float, float]:
    """(FLOPs per token counted by torch.utils.flop_counter over one forward + backward, the formula's).

    On the meta device nothing is computed and scaled_dot_product_attention takes its math path, whose
    matmuls (bmm) the counter sees; the CPU flash kernel has no FLOP formula registered in the counter.
    """
    cfg = load_config(REPO / "configs" / config, {})
    cfg.model.vocab_size = vocab
    with torch.device("meta"):
        model = GPT(cfg.model)
        idx = torch.zeros(batch, cfg.model.block_size, dtype=torch.long)
        counter = FlopCounterMode(display=False)
        with counter:
            _, loss = model(idx, idx)
            loss.backward()
    return counter.get_total_flops() / idx.numel(), model.flops_per_token()


@pytest.mark.parametrize(
    ("config", "vocab", "expected_mflop"),
    [
        ("train-tiny.yaml", 4096, 9.05),
        ("train-tiny.yaml", 32768, 31.06),
        ("train-gpt2-124m.yaml", 32768, 773.85),
    ],
)
def test_flops_formula_matches_torch_flop_counter(config, vocab, expected_mflop):
    counted, formula = _counted_flops_per_token(config, vocab)
    assert formula == pytest.approx(counted, rel=1e-3)
    assert formula / 1e6 == pytest.approx(expected_mflop, abs=0.01)  # the figures the README quotes


def test_flops_formula_counts_an_untied_head_once():
    cfg = load_config(REPO / "configs" / "train-tiny.yaml", {"model.tie_embeddings": False})
    cfg.model.vocab_size = 4096
    with torch.device("meta"):
        tied_cfg = load_config(REPO / "configs" / "train-tiny.yaml", {})
        tied_cfg.model.vocab_size = 4096
        untied, tied = GPT(cfg.model), GPT(tied_cfg.model)
    # Tying changes the parameter count, not the work: the output projection is a matmul either way.
    assert untied.num_params() - tied.num_params() == 4096 * 128
    assert untied.flops_per_token() == tied.flops_per_token()


@pytest.mark.parametrize(
    ("name", "dtype", "peak"),
    [
        ("NVIDIA H100 80GB HBM3", "bfloat16", 989.0),  # SXM
        ("NVIDIA H100 80GB HBM3", "float32", 495.0),  # TF32: a float32 run is not held to the bf16 peak
        ("NVIDIA H100 PCIe", "bfloat16", 756.0),
        ("NVIDIA H100 PCIe", "float32", 378.0),
        ("NVIDIA H100 NVL", "bfloat16", 835.0),
        ("NVIDIA H200", "bfloat16", 989.0),
        ("NVIDIA H200 NVL", "bfloat16", 835.0),
        ("NVIDIA H200 NVL", "float32", 418.0),
        ("NVIDIA GH200 480GB", "bfloat16", 989.0),
        ("NVIDIA A100-SXM4-80GB", "bfloat16", 312.0),
        ("NVIDIA A100-SXM4-80GB", "float32", 156.0),
        ("NVIDIA L4", "bfloat16", 121.0),
        ("NVIDIA L40", "bfloat16", 181.0),  # not the L4's figure, though "L4" is inside "L40"
        ("NVIDIA L40S", "bfloat16", 362.0),
        ("NVIDIA A10", "bfloat16", 125.0),
        ("NVIDIA A10G", "bfloat16", 70.0),
        ("NVIDIA GeForce RTX 4090", "float32", 82.6),
    ],
)
def test_peak_follows_gpu_name_and_dtype(name, dtype, peak):
    assert peak_tflops(name, dtype) == peak


def test_unknown_gpu_or_dtype_has_no_peak():
    assert peak_tflops("NVIDIA GeForce GTX 1080", "bfloat16") is None
    assert peak_tflops("NVIDIA H100 80GB HBM3", "float64") is None


def test_mfu_is_achieved_over_peak():
    # 774 MFLOP/token at 400K tokens/s = 309.6 TFLOP/s: 31.3% of one H100 SXM in bf16, 62.6% of its TF32 peak.
    assert mfu(774e6, 400e3, peak_tflops("NVIDIA H100 80GB HBM3", "bfloat16")) == pytest.approx(
        0.3131, abs=1e-4
    )
    assert mfu(774e6, 400e3, peak_tflops("NVIDIA H100 80GB HBM3", "float32")) == pytest.approx(
        0.6255, abs=1e-4
    )
