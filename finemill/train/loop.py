"""The training loop: one function, `train(cfg)`, the same code on a laptop CPU and on GPUs under torchrun.

One optimizer step: set the learning rate from the schedule, run `accum` micro-batches forward and backward
(DDP synchronizes gradients only on the last one), all-reduce the loss for logging, clip the gradient
norm, stop on a non-finite loss before it touches the weights, then step AdamW. Around it: validation
loss, a generated sample, a metrics line and a checkpoint every N steps.

On CUDA: bf16 autocast (weights and optimizer state stay fp32), TF32 for the remaining fp32 matmuls,
fused AdamW, flash attention through SDPA, optional torch.compile, NCCL. On CPU: fp32, gloo.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import yaml
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm.auto import tqdm

from finemill import run_folder
from finemill.errors import FinemillError
from finemill.train.checkpoint import (
    checkpoint_dir,
    find_checkpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from finemill.train.config import RUNTIME_KEYS, TrainConfig
from finemill.train.data import TokenData, TokenLoader
from finemill.train.metrics import MetricsLog, mfu, peak_tflops, plot_loss_curve
from finemill.train.model import GPT
from finemill.train.sample import complete


@dataclass
class Dist:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def master(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def resolve_device(setting: str, local_rank: int = 0) -> torch.device:
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


def setup_distributed(device_setting: str) -> tuple[Dist, torch.device]:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1): NCCL on GPUs, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Dist(), resolve_device(device_setting)
    info = Dist(int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0")), world)
    device = resolve_device(device_setting, info.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return info, device


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate of optimizer step `step` (1-based): linear warmup, then cosine or warmup-stable-decay."""
    if step <= cfg.warmup_steps:
        return cfg.lr * step / cfg.warmup_steps
    min_lr = cfg.lr * cfg.min_lr_ratio
    if cfg.schedule == "cosine":
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps))
        return min_lr + 0.5 * (cfg.lr - min_lr) * (1 + math.cos(math.pi * progress))
    # Warmup-stable-decay (Hu et al. 2024): constant, then a linear decay over the last decay_fraction.
    decay_start = max(cfg.warmup_steps, cfg.max_steps - round(cfg.decay_fraction * cfg.max_steps))
    if step <= decay_start:
        return cfg.lr
    progress = min(1.0, (step - decay_start) / max(1, cfg.max_steps - decay_start))
    return cfg.lr + (min_lr - cfg.lr) * progress


def configure_optimizer(model: GPT, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices (matmuls, embeddings) only, not on norm gains."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    # The fused CUDA kernel updates all parameters in a few launches instead of several per tensor.
    return torch.optim.AdamW(
        groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=1e-8, fused=device.type == "cuda"
    )


def autocast_context(cfg: TrainConfig, device: torch.device):
    """bf16 autocast on CUDA (auto) or when asked for; otherwise plain fp32."""
    dtype = cfg.dtype
    if dtype == "auto":
        dtype = "bfloat16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "float32"
    if dtype == "bfloat16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16), "bfloat16"
    return nullcontext(), "float32"


def grad_accumulation(cfg: TrainConfig, world_size: int) -> int:
    per_pass = cfg.micro_batch_size * cfg.model.block_size * world_size
    if cfg.tokens_per_step is None:
        return 1
    if cfg.tokens_per_step % per_pass:
        raise FinemillError(
            f"tokens_per_step ({cfg.tokens_per_step}) must be a multiple of micro_batch_size x block_size x "
            f"ranks = {cfg.micro_batch_size} x {cfg.model.block_size} x {world_size} = {per_pass}"
        )
    return cfg.tokens_per_step // per_pass


def default_out(cfg: TrainConfig, config_name: str) -> Path:
    """<tokens folder>/../train-<config name without 'train-'>: next to the tokens of the same run."""
    return run_folder.train(Path(cfg.data).resolve().parent, config_name)


def train(
    cfg: TrainConfig,
    *,
    config_name: str = "run",
    resume: str | bool | None = None,
    stop_at: int | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Train as configured and return the run summary (also written to OUT/summary.json).

    resume: None resumes from OUT's newest checkpoint if there is one; True requires one; a path names a
    checkpoint file or run folder. stop_at: stop (with a checkpoint) after this step, leaving the schedule
    aimed at max_steps, so a later run can resume.
    """
    if cfg.data is None:
        raise FinemillError("no token data: pass --data OUT/tokens (the folder `finemill tokenize` wrote)")
    info, device = setup_distributed(cfg.device)
    try:
        return _train(cfg, info, device, config_name, resume, stop_at, show_progress)
    finally:
        if info.enabled and dist.is_initialized():
            dist.destroy_process_group()


def _train(
    cfg: TrainConfig,
    info: Dist,
    device: torch.device,
    config_name: str,
    resume: str | bool | None,
    stop_at: int | None,
    show_progress: bool,
) -> dict[str, Any]:
    data = TokenData(cfg.data)
    data.check_vocab(cfg.model.vocab_size)
    mcfg = replace(cfg.model, vocab_size=data.vocab_size)
    out = Path(cfg.out) if cfg.out else default_out(cfg, config_name)

    def say(msg: str) -> None:
        if info.master:
            tqdm.write(msg)

    # Resume: find the checkpoint and check it belongs to this model and these tokens.
    ckpt_path: Path | None = None
    if isinstance(resume, (str, Path)):
        ckpt_path = find_checkpoint(resume)
        if ckpt_path is None:
            raise FinemillError(f"--resume: no checkpoint at {resume}")
    elif resume is not False:
        ckpt_path = find_checkpoint(checkpoint_dir(out))
        if ckpt_path is None and resume is True:
            raise FinemillError(f"--resume: no checkpoint in {checkpoint_dir(out)}")
    state = load_checkpoint(ckpt_path) if ckpt_path else None
    if state is not None:
        _check_resumable(state, ckpt_path, cfg, mcfg, data, say)

    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")  # TF32 for fp32 matmuls outside autocast
    torch.manual_seed(cfg.seed)  # identical initial weights on every rank (DDP also broadcasts them)
    raw_model = GPT(mcfg).to(device)
    optimizer = configure_optimizer(raw_model, cfg, device)
    autocast, dtype_name = autocast_context(cfg, device)
    B, T, world = cfg.micro_batch_size, mcfg.block_size, info.world_size
    accum = grad_accumulation(cfg, world)
    tokens_per_step = B * T * accum * world
    train_loader = TokenLoader(
        data, "train", B, T, seed=cfg.seed, rank=info.rank, world_size=world,
        num_workers=cfg.num_workers, pin_memory=device.type == "cuda",
    )
    val_loader = TokenLoader(data, "val", B, T, shuffle=False, rank=info.rank, world_size=world)
    # eval_batches counts micro-batches of all ranks together, so the validation loss is the same at any
    # world size; a val split smaller than that is read once (or one batch per rank, repeating windows).
    eval_batches = 0
    if cfg.eval_batches and cfg.eval_every:
        if val_loader.windows_per_epoch == 0:
            say(f"note: the val split has fewer than {T + 1} tokens: no validation loss")
        else:
            eval_batches = max(1, min(cfg.eval_batches // world, val_loader.windows_per_epoch // (B * world)))

    step, tokens_seen = 0, 0
    if state is not None:
        raw_model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        train_loader.load_state_dict(state["data"])
        rngs = state.get("rng") or []
        if len(rngs) == world:
            set_rng_state(rngs[info.rank])
        step, tokens_seen = state["step"], state.get("tokens", 0)
        del state

    model: torch.nn.Module = raw_model
    if cfg.compile:
        model = torch.compile(model)
    if info.enabled:
        # RoPE tables are the only buffers and never change: no need to broadcast them every forward.
        model = DDP(model, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False)

    tokenizer = None
    if info.master:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(yaml.safe_dump({**cfg.to_dict(), "model": asdict(mcfg)}, sort_keys=False))
        if data.check_tokenizer_file():
            shutil.copyfile(data.tokenizer_path, out / "tokenizer.json")  # the run decodes without its tokens
            if cfg.sample_every:
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(data.tokenizer_path))
        elif cfg.sample_every:
            say(f"note: {data.tokenizer_path} not found: no samples during training")
    log = MetricsLog(out / "metrics.jsonl", resume_step=step if ckpt_path else None) if info.master else None

    flops_per_token = raw_model.flops_per_token()
    peak = cfg.peak_tflops
    if peak is None and device.type == "cuda":
        peak = peak_tflops(torch.cuda.get_device_name(device))
    end_step = min(cfg.max_steps, stop_at) if stop_at else cfg.max_steps
    say(
        f"model: {raw_model.num_params() / 1e6:.2f}M parameters ({mcfg.n_layer} layers, width {mcfg.n_embd}, "
        f"{mcfg.n_head} heads, context {T}, vocab {mcfg.vocab_size}), {flops_per_token / 1e6:.1f} MFLOP/token"
    )
    say(
        f"train: {train_loader.stream.tokens_per_epoch:,} tokens/epoch, {tokens_per_step:,} tokens/step "
        f"({B} x {T} x {accum} accumulation x {world} ranks), {cfg.max_steps} steps on {device} in {dtype_name}"
        + (f", resuming at step {step} from {ckpt_path}" if ckpt_path else "")
    )
    if step >= end_step:
        say(f"nothing to do: already at step {step} (max_steps {cfg.max_steps})")

    last_ckpt = ckpt_path
    loss_val = val_loss = None
    bar = tqdm(total=cfg.max_steps, initial=step, unit="step", dynamic_ncols=True, mininterval=0.5,
               disable=not (info.master and show_progress))
    train_time, tokens_since, time_since = 0.0, 0, 0.0
    started = time.perf_counter()
    while step < end_step:
        t0 = time.perf_counter()
        step += 1
        lr = lr_at(step, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss_sum = torch.zeros((), device=device)
        for micro in range(accum):
            x, y = next(train_loader)  # (B, T) each
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            # DDP all-reduces gradients on the last micro-batch only; the others just accumulate.
            sync = nullcontext() if not info.enabled or micro == accum - 1 else model.no_sync()
            with sync:
                with autocast:
                    _, loss = model(x, y)
                (loss / accum).backward()
            loss_sum += loss.detach()
        if info.enabled:
            dist.all_reduce(loss_sum)  # SUM (gloo has no AVG); divided by world below
        if cfg.grad_clip > 0:
            grad_norm = torch.nn.utils.clip_grad_norm_(raw_model.parameters(), cfg.grad_clip)
        else:
            grad_norm = torch.nn.utils.get_total_norm([p.grad for p in raw_model.parameters() if p.grad is not None])
        # One host sync per step: the loss (for the NaN check and the log) and the gradient norm together.
        loss_val, norm_val = torch.stack([loss_sum / (accum * world), grad_norm.float()]).tolist()
        if not (math.isfinite(loss_val) and math.isfinite(norm_val)):
            bar.close()
            kept = f"the last good checkpoint is {last_ckpt}" if last_ckpt else "no checkpoint was written yet"
            raise FinemillError(
                f"loss is {loss_val} (gradient norm {norm_val}) at step {step}: stopping before the weights "
                f"are updated; {kept}. Try a lower lr or more warmup_steps."
            )
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        tokens_seen += tokens_per_step
        dt = time.perf_counter() - t0
        train_time += dt
        time_since += dt
        tokens_since += tokens_per_step

        is_last = step == end_step
        if eval_batches and cfg.eval_every and (step % cfg.eval_every == 0 or is_last):
            val_loss = evaluate(model, val_loader, eval_batches, device, autocast, info)
            say(f"step {step}: val loss {val_loss:.4f}, train loss {loss_val:.4f}")
        if info.master and (
            step == 1 or is_last or (cfg.log_every and step % cfg.log_every == 0)
            or (cfg.eval_every and step % cfg.eval_every == 0)
        ):
            record: dict[str, Any] = {
                "step": step, "loss": round(loss_val, 6), "lr": lr, "grad_norm": round(norm_val, 6),
                "tokens": tokens_seen, "epoch": round(train_loader.epoch, 4),
                "tokens_per_s": round(tokens_since / time_since, 1), "time_s": round(train_time, 3),
            }
            if val_loss is not None and (step % cfg.eval_every == 0 or is_last):
                record["val_loss"] = round(val_loss, 6)
            if device.type == "cuda" and peak:
                record["mfu"] = round(mfu(flops_per_token, record["tokens_per_s"], peak * world), 4)
            log.write(record)
            bar.set_postfix(
                loss=f"{loss_val:.3f}", val=f"{val_loss:.3f}" if val_loss is not None else "-",
                lr=f"{lr:.2e}", tok_s=f"{record['tokens_per_s']:.0f}", refresh=False,
            )
            tokens_since, time_since = 0, 0.0
        if tokenizer is not None and (step % cfg.sample_every == 0 or is_last):
            text = _sample(raw_model, tokenizer, cfg, data.eot_id, device, autocast)
            say(f"step {step} sample: " + (cfg.sample_prompt + text).replace("\n", " / ")[:300])
            with open(out / "samples.jsonl", "a") as f:
                f.write(json.dumps({"step": step, "prompt": cfg.sample_prompt, "text": text}) + "\n")
        if (cfg.checkpoint_every and step % cfg.checkpoint_every == 0) or is_last:
            last_ckpt = _save(raw_model, optimizer, train_loader, cfg, mcfg, data, out, step, tokens_seen,
                              loss_val, val_loss, info)
        bar.update(1)
    bar.close()

    checksum = _param_checksum(raw_model)
    checksums = _gather(checksum, info)
    if len(set(checksums)) > 1:
        raise FinemillError(f"ranks disagree after training: parameter checksums {checksums}")
    summary = {
        "step": step, "max_steps": cfg.max_steps, "tokens": tokens_seen, "loss": loss_val, "val_loss": val_loss,
        "uniform_loss": math.log(mcfg.vocab_size), "params": raw_model.num_params(),
        "flops_per_token": flops_per_token, "world_size": world, "device": str(device), "dtype": dtype_name,
        "rank_checksums": checksums, "checkpoint": str(last_ckpt) if last_ckpt else None,
        "time_s": round(time.perf_counter() - started, 2), "out": str(out),
    }
    if info.master:
        summary["loss_curve"] = str(plot_loss_curve(out / "metrics.jsonl", out / "loss.png", mcfg.vocab_size))
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if val_loss is not None:
            say(f"done: step {step}, val loss {val_loss:.4f} (uniform guess {math.log(mcfg.vocab_size):.2f})")
        say(f"run folder: {out} (checkpoints/, metrics.jsonl, loss.png)")
    return summary


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, loader: TokenLoader, batches: int, device: torch.device, autocast, info: Dist
) -> float:
    """Mean loss over the first `batches` validation batches of each rank (the same ones every time)."""
    model.eval()
    loader.reset()
    total = torch.zeros((), device=device)
    for _ in range(batches):
        x, y = next(loader)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast:
            _, loss = model(x, y)
        total += loss.float()
    if info.enabled:
        dist.all_reduce(total)
    model.train()
    return total.item() / (batches * info.world_size)


def _sample(model: GPT, tokenizer, cfg: TrainConfig, eot_id: int, device: torch.device, autocast) -> str:
    model.eval()
    with autocast:
        (text,) = complete(model, tokenizer, cfg.sample_prompt, cfg.sample_tokens, eot_id=eot_id,
                           temperature=0.8, top_k=50, seed=cfg.seed, device=device)
    model.train()
    return text


def _save(raw_model, optimizer, loader, cfg, mcfg, data, out, step, tokens, loss, val_loss, info) -> Path:
    rngs = _gather(rng_state(), info)  # collective: every rank takes part
    path = checkpoint_dir(out) / f"step_{step:08d}.pt"
    if info.master:
        path = save_checkpoint(
            {
                "model": raw_model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "schedule": {"name": cfg.schedule, "lr": lr_at(step, cfg), "max_steps": cfg.max_steps},
                "data": loader.state_dict(),
                "rng": rngs,
                "model_config": asdict(mcfg),
                "train_config": cfg.to_dict(),
                "tokenizer": data.tokenizer_ref(),
                "tokens": tokens,
                "metrics": {"loss": loss, "val_loss": val_loss},
                "world_size": info.world_size,
            },
            out, step, cfg.keep_checkpoints,
        )
    return path


def _check_resumable(state, path, cfg: TrainConfig, mcfg, data: TokenData, say) -> None:
    tok = state.get("tokenizer") or {}
    if tok.get("vocab_size") != data.vocab_size:
        raise FinemillError(
            f"vocab mismatch: {path} was trained with a {tok.get('vocab_size')}-token vocab, but the tokens in "
            f"{data.dir} use {data.vocab_size}"
        )
    if tok.get("sha256") and data.tokenizer_sha256 and tok["sha256"] != data.tokenizer_sha256:
        raise FinemillError(f"{path} was trained with another tokenizer than the one of {data.dir} (sha256 differs)")
    saved = state["model_config"]
    diffs = [f"{k} {saved.get(k)} there, {v} here" for k, v in asdict(mcfg).items() if saved.get(k) != v]
    if diffs:
        raise FinemillError(
            f"{path} is a checkpoint of another model ({'; '.join(diffs)}): use another --out or the same model"
        )
    old = {k: v for k, v in state.get("train_config", {}).items() if k != "model" and k not in RUNTIME_KEYS}
    new = cfg.to_dict()
    changed = [f"{k} {v!r} -> {new.get(k)!r}" for k, v in old.items() if new.get(k) != v]
    if changed:
        say(f"note: settings changed since the checkpoint: {', '.join(changed)}")


def _param_checksum(model: torch.nn.Module) -> float:
    """A float that changes with any weight: ranks of a DDP run must agree on it bit for bit."""
    with torch.no_grad():
        total = torch.zeros((), dtype=torch.float64, device=next(model.parameters()).device)
        for i, p in enumerate(model.parameters()):
            total += (p.double() * (1 + i % 7)).sum() + p.double().abs().sum()
    return total.item()


def _gather(obj: Any, info: Dist) -> list[Any]:
    if not info.enabled:
        return [obj]
    gathered: list[Any] = [None] * info.world_size
    dist.all_gather_object(gathered, obj)
    return gathered
