"""The training loop: `train(cfg)`, the same code on a laptop CPU and on GPUs under torchrun.

It reads like this (`train_loop`), around a small `RunState` (step, tokens, latest losses, checkpoint):

    run, state = setup(cfg, ...)            # model, optimizer, data, run folder; resumed from a checkpoint
    while state.step < run.end_step:
        stopping = train_step(run, state)   # one optimizer step; True on SIGINT/SIGTERM (all ranks agree)
        if stopping or checkpoint_due(run, state):
            save(run, state)                # before any evaluation: an evaluation crash never loses training
        evaluate_log_sample(run, state)     # validation loss and bpb, benchmarks, the metrics line, a sample
        if stopping: raise RunInterrupted   # exit 130 (SIGINT) or 143 (SIGTERM); a rerun resumes
    summary = finish(run, state)

On CUDA: bf16 autocast (weights and optimizer state stay fp32), TF32 for the remaining fp32 matmuls,
fused AdamW, flash attention through SDPA, optional torch.compile, NCCL. On CPU: fp32, gloo.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
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
from finemill.common import resolve_device
from finemill.errors import FinemillError
from finemill.train import cpu_linear
from finemill.train.checkpoint import (
    checkpoint_dir,
    find_checkpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from finemill.train.config import RUNTIME_KEYS, ModelConfig, TrainConfig
from finemill.train.data import TokenData, TokenLoader
from finemill.train.evals import Benchmarks, byte_lengths, check_tasks_available, load_encoder
from finemill.train.interrupt import RunInterrupted, StopSignals
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


@dataclass
class RunState:
    """Where a run stands after `step` optimizer steps. A checkpoint saves it with the weights, the
    optimizer and the data position (the loader's count of windows consumed), which is all a resume needs:
    the learning rate is a function of the step."""

    step: int = 0
    tokens: int = 0  # training tokens seen, all ranks together
    lr: float = 0.0  # of the last step
    loss: float | None = None  # training loss of the last step, all ranks together
    grad_norm: float | None = None
    val_loss: float | None = None  # the latest validation loss
    val_step: int | None = None  # the step it was measured at
    val_bpb: float | None = None  # validation bits per byte, from the same pass as val_loss
    bench: dict[str, Any] | None = None  # the latest benchmark metrics (rank 0), {"eval/<task>/acc": ...}
    bench_step: int | None = None
    checkpoint: Path | None = None  # the latest checkpoint written or resumed from
    # Throughput for the metrics lines: time spent in steps, and tokens and time since the last line.
    train_time: float = 0.0
    tokens_since: int = 0
    time_since: float = 0.0


@dataclass
class Run:
    """What setup() builds once and the phases use."""

    cfg: TrainConfig
    mcfg: ModelConfig  # cfg.model with the vocab size of the tokens
    info: Dist
    device: torch.device
    data: TokenData
    out: Path
    raw_model: GPT  # the weights that are saved and sampled from
    model: torch.nn.Module  # what training forwards through: raw_model, compiled and/or wrapped in DDP
    optimizer: torch.optim.Optimizer
    train_loader: TokenLoader
    val_loader: TokenLoader
    autocast: Any
    dtype_name: str
    accum: int  # micro-batches per optimizer step on each rank
    tokens_per_step: int
    eval_batches: int  # validation micro-batches per rank; 0: no validation loss
    token_bytes: torch.Tensor | None  # UTF-8 bytes of each token id, for val_bpb; None: no val_bpb
    benchmarks: Benchmarks | None  # the eval_tasks, encoded once (rank 0 only; the other ranks wait)
    end_step: int  # max_steps, or --stop-at
    log: MetricsLog | None  # rank 0 only
    tokenizer: Any  # for samples; None when sampling is off or the tokenizer file is missing (rank 0 only)
    flops_per_token: float
    peak_tflops: float | None  # per accelerator, for MFU
    resumed_from: Path | None

    def say(self, msg: str) -> None:
        if self.info.master:
            tqdm.write(msg)


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
    aimed at max_steps, so a later run can resume. SIGINT or SIGTERM during the steps saves a checkpoint of
    the current step and raises RunInterrupted (a KeyboardInterrupt).
    """
    if cfg.data is None:
        raise FinemillError("no token data: pass --data OUT/tokens (the folder `finemill tokenize` wrote)")
    info, device = setup_distributed(cfg.device)
    try:
        run, state = setup(cfg, info, device, config_name, resume, stop_at)
        return train_loop(run, state, show_progress)
    finally:
        if info.enabled and dist.is_initialized():
            dist.destroy_process_group()


def train_loop(run: Run, state: RunState, show_progress: bool = True) -> dict[str, Any]:
    """The steps from state.step to run.end_step, then the summary.

    Each step saves (when due) before it evaluates, so a checkpoint of a step is on disk before any
    evaluation of that step starts: an evaluation that crashes never loses training.
    """
    bar = tqdm(
        total=run.cfg.max_steps,
        initial=state.step,
        unit="step",
        dynamic_ncols=True,
        mininterval=0.5,
        disable=not (run.info.master and show_progress),
    )
    started = time.perf_counter()
    with StopSignals() as stop, bar:
        while state.step < run.end_step:
            stopping = train_step(run, state, stop.requested)
            if stopping or checkpoint_due(run, state):
                save(run, state)
            evaluate_log_sample(run, state, bar)
            bar.update(1)
            if stopping and state.step < run.end_step:
                raise _interrupted(run, state, stop.signum)
    return finish(run, state, time.perf_counter() - started)


# ----------------------------------------------------------------------------------------------------------
# Set-up: data, model, optimizer, loaders, run folder; the state of the checkpoint resumed from.


def setup(
    cfg: TrainConfig,
    info: Dist,
    device: torch.device,
    config_name: str = "run",
    resume: str | bool | None = None,
    stop_at: int | None = None,
) -> tuple[Run, RunState]:
    if cfg.eval_tasks and cfg.eval_every:
        check_tasks_available(cfg.eval_tasks)  # a missing benchmark package fails now, not after training
    data = TokenData(cfg.data)
    data.check_vocab(cfg.model.vocab_size)
    mcfg = replace(cfg.model, vocab_size=data.vocab_size)
    out = Path(cfg.out) if cfg.out else default_out(cfg, config_name)

    def say(msg: str) -> None:
        if info.master:
            tqdm.write(msg)

    ckpt_path = _resume_checkpoint(resume, out)
    ckpt = load_checkpoint(ckpt_path) if ckpt_path else None
    if ckpt is not None:
        _check_resumable(ckpt, ckpt_path, cfg, mcfg, data, say)

    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")  # TF32 for fp32 matmuls outside autocast
    cpu_linear.use(cfg.cpu_matmul)
    torch.manual_seed(cfg.seed)  # identical initial weights on every rank (DDP also broadcasts them)
    raw_model = GPT(mcfg).to(device)
    optimizer = configure_optimizer(raw_model, cfg, device)
    autocast, dtype_name = autocast_context(cfg, device)
    B, T, world = cfg.micro_batch_size, mcfg.block_size, info.world_size
    accum = grad_accumulation(cfg, world)
    train_loader = TokenLoader(
        data,
        "train",
        B,
        T,
        seed=cfg.seed,
        rank=info.rank,
        world_size=world,
        num_workers=cfg.num_workers,
        pin_memory=device.type == "cuda",
    )
    val_loader = TokenLoader(data, "val", B, T, shuffle=False, rank=info.rank, world_size=world)
    eval_batches = _eval_batches(cfg, val_loader, world, say)
    token_bytes, benchmarks = _eval_extras(cfg, mcfg, data, info, device, eval_batches, say)

    state = RunState()
    if ckpt is not None:
        raw_model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        train_loader.load_state_dict(ckpt["data"])
        rngs = ckpt.get("rng") or []
        if len(rngs) == world:
            set_rng_state(rngs[info.rank])
        state.step, state.tokens = ckpt["step"], ckpt.get("tokens", 0)
        state.checkpoint = ckpt_path
        del ckpt

    model: torch.nn.Module = raw_model
    if cfg.compile:
        model = torch.compile(model)
    if info.enabled:
        # RoPE tables are the only buffers and never change: no need to broadcast them every forward.
        model = DDP(
            model, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False
        )

    tokenizer = _prepare_out(out, cfg, mcfg, data, say) if info.master else None
    log = (
        MetricsLog(out / "metrics.jsonl", resume_step=state.step if ckpt_path else None)
        if info.master
        else None
    )
    peak = cfg.peak_tflops
    if peak is None and device.type == "cuda":
        peak = peak_tflops(torch.cuda.get_device_name(device), dtype_name)  # TF32 peak for fp32 runs
    run = Run(
        cfg=cfg,
        mcfg=mcfg,
        info=info,
        device=device,
        data=data,
        out=out,
        raw_model=raw_model,
        model=model,
        optimizer=optimizer,
        train_loader=train_loader,
        val_loader=val_loader,
        autocast=autocast,
        dtype_name=dtype_name,
        accum=accum,
        tokens_per_step=B * T * accum * world,
        eval_batches=eval_batches,
        token_bytes=token_bytes,
        benchmarks=benchmarks,
        end_step=min(cfg.max_steps, stop_at) if stop_at else cfg.max_steps,
        log=log,
        tokenizer=tokenizer,
        flops_per_token=raw_model.flops_per_token(),
        peak_tflops=peak,
        resumed_from=ckpt_path,
    )
    _describe(run, state)
    return run, state


def _resume_checkpoint(resume: str | bool | None, out: Path) -> Path | None:
    """The checkpoint to resume from: the one named, or OUT's newest (None: start afresh)."""
    if isinstance(resume, (str, Path)):
        path = find_checkpoint(resume)
        if path is None:
            raise FinemillError(f"--resume: no checkpoint at {resume}")
        return path
    if resume is False:
        return None
    path = find_checkpoint(checkpoint_dir(out))
    if path is None and resume is True:
        raise FinemillError(f"--resume: no checkpoint in {checkpoint_dir(out)}")
    return path


def _eval_batches(cfg: TrainConfig, val_loader: TokenLoader, world: int, say) -> int:
    """Validation micro-batches per rank. eval_batches counts those of all ranks together, so the validation
    loss is the same at any world size; a val split smaller than that is read once (or one batch per rank,
    repeating windows)."""
    if not (cfg.eval_batches and cfg.eval_every):
        return 0
    if val_loader.windows_per_epoch == 0:
        say(f"note: the val split has fewer than {cfg.model.block_size + 1} tokens: no validation loss")
        return 0
    return max(
        1, min(cfg.eval_batches // world, val_loader.windows_per_epoch // (cfg.micro_batch_size * world))
    )


def _eval_extras(
    cfg: TrainConfig,
    mcfg: ModelConfig,
    data: TokenData,
    info: Dist,
    device: torch.device,
    eval_batches: int,
    say,
) -> tuple[torch.Tensor | None, Benchmarks | None]:
    """Token byte lengths for val_bpb (every rank: it is all-reduced) and the encoded benchmarks (rank 0)."""
    want_bpb = bool(cfg.val_bpb and eval_batches)
    want_tasks = bool(cfg.eval_tasks and cfg.eval_every)
    if not (want_bpb or want_tasks):
        return None, None
    encoder = load_encoder(data)
    if encoder is None:
        if want_tasks:
            raise FinemillError(f"eval_tasks needs the tokenizer, but {data.tokenizer_path} is missing")
        say(f"note: {data.tokenizer_path} not found: no validation bits per byte")
        return None, None
    token_bytes = byte_lengths(encoder, device) if want_bpb else None
    benchmarks = None
    if want_tasks and info.master:
        benchmarks = Benchmarks(encoder, cfg.eval_tasks, cfg.eval_task_limit, mcfg.block_size)
        say(
            f"benchmarks every {cfg.eval_every} steps: "
            + ", ".join(f"{name} ({n} items)" for name, n in benchmarks.items.items())
        )
    return token_bytes, benchmarks


def _prepare_out(out: Path, cfg: TrainConfig, mcfg: ModelConfig, data: TokenData, say):
    """Rank 0: the run folder with config.yaml, tokenizer.json and tokenizer_config.json (so AutoTokenizer
    loads the folder); the tokenizer for samples, if sampling."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(
        yaml.safe_dump({**cfg.to_dict(), "model": asdict(mcfg)}, sort_keys=False)
    )
    if not data.check_tokenizer_file():
        if cfg.sample_every:
            say(f"note: {data.tokenizer_path} not found: no samples during training")
        return None
    shutil.copyfile(data.tokenizer_path, out / "tokenizer.json")  # the run decodes without its tokens
    hf_config = data.tokenizer_path.parent / "tokenizer_config.json"
    if hf_config.is_file():
        shutil.copyfile(hf_config, out / "tokenizer_config.json")
    if not cfg.sample_every:
        return None
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(data.tokenizer_path))
    tokenizer.encode_special_tokens = (
        True  # a literal "<|endoftext|>" in the prompt is text, as in the shards
    )
    return tokenizer


def _describe(run: Run, state: RunState) -> None:
    mcfg, cfg = run.mcfg, run.cfg
    run.say(
        f"model: {run.raw_model.num_params() / 1e6:.2f}M parameters ({mcfg.n_layer} layers, width {mcfg.n_embd}, "
        f"{mcfg.n_head} heads, context {mcfg.block_size}, vocab {mcfg.vocab_size}), "
        f"{run.flops_per_token / 1e6:.1f} MFLOP/token"
    )
    run.say(
        f"train: {run.train_loader.stream.tokens_per_epoch:,} tokens/epoch, {run.tokens_per_step:,} tokens/step "
        f"({cfg.micro_batch_size} x {mcfg.block_size} x {run.accum} accumulation x {run.info.world_size} ranks), "
        f"{cfg.max_steps} steps on {run.device} in {run.dtype_name}"
        + (f", resuming at step {state.step} from {run.resumed_from}" if run.resumed_from else "")
    )
    if state.step >= run.end_step:
        run.say(f"nothing to do: already at step {state.step} (max_steps {cfg.max_steps})")


# ----------------------------------------------------------------------------------------------------------
# One optimizer step.


def train_step(run: Run, state: RunState, stop_requested: bool = False) -> bool:
    """One optimizer step: learning rate from the schedule, `accum` micro-batches forward and backward (DDP
    synchronizes gradients only on the last one), the loss all-reduced for logging, the gradient norm
    clipped, a stop before a non-finite loss touches the weights, then AdamW.

    stop_requested is this rank's wish to stop (a signal); it is all-reduced with the loss, so the return
    value, True when any rank wants to stop, is the same on every rank and they all stop after this step.
    """
    t0 = time.perf_counter()
    cfg, info, device, model = run.cfg, run.info, run.device, run.model
    state.step += 1
    state.lr = lr_at(state.step, cfg)
    for group in run.optimizer.param_groups:
        group["lr"] = state.lr
    loss_sum = torch.zeros((), device=device)
    for micro in range(run.accum):
        x, y = next(run.train_loader)  # (B, T) each
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        # DDP all-reduces gradients on the last micro-batch only; the others just accumulate.
        sync = nullcontext() if not info.enabled or micro == run.accum - 1 else model.no_sync()
        with sync:
            with run.autocast:
                _, loss = model(x, y)
            (loss / run.accum).backward()
        loss_sum += loss.detach()
    reduced = torch.stack([loss_sum, torch.tensor(float(stop_requested), device=device)])
    if info.enabled:
        dist.all_reduce(reduced)  # SUM (gloo has no AVG): the loss is divided by the world size below
    if cfg.grad_clip > 0:
        grad_norm = torch.nn.utils.clip_grad_norm_(run.raw_model.parameters(), cfg.grad_clip)
    else:
        grad_norm = torch.nn.utils.get_total_norm(
            [p.grad for p in run.raw_model.parameters() if p.grad is not None]
        )
    # One host sync per step: the loss (for the NaN check and the log), the gradient norm and the stop vote.
    loss_val, norm_val, stop_votes = torch.stack(
        [reduced[0] / (run.accum * info.world_size), grad_norm.float(), reduced[1]]
    ).tolist()
    if not (math.isfinite(loss_val) and math.isfinite(norm_val)):
        kept = (
            f"the last good checkpoint is {state.checkpoint}"
            if state.checkpoint
            else "no checkpoint was written yet"
        )
        raise FinemillError(
            f"loss is {loss_val} (gradient norm {norm_val}) at step {state.step}: stopping before the weights "
            f"are updated; {kept}. Try a lower lr or more warmup_steps."
        )
    run.optimizer.step()
    run.optimizer.zero_grad(set_to_none=True)
    state.loss, state.grad_norm = loss_val, norm_val
    state.tokens += run.tokens_per_step
    dt = time.perf_counter() - t0
    state.train_time += dt
    state.time_since += dt
    state.tokens_since += run.tokens_per_step
    return stop_votes > 0


# ----------------------------------------------------------------------------------------------------------
# Checkpoints.


def checkpoint_due(run: Run, state: RunState) -> bool:
    every = run.cfg.checkpoint_every
    return state.step == run.end_step or bool(every and state.step % every == 0)


def save(run: Run, state: RunState) -> Path:
    """Checkpoint the run at state.step. A collective under DDP: every rank calls it, rank 0 writes."""
    cfg = run.cfg
    rngs = _gather(rng_state(), run.info)
    path = checkpoint_dir(run.out) / f"step_{state.step:08d}.pt"
    if run.info.master:
        path = save_checkpoint(
            {
                "model": run.raw_model.state_dict(),
                "optimizer": run.optimizer.state_dict(),
                "schedule": {"name": cfg.schedule, "lr": lr_at(state.step, cfg), "max_steps": cfg.max_steps},
                "data": run.train_loader.state_dict(),
                "rng": rngs,
                "model_config": asdict(run.mcfg),
                "train_config": cfg.to_dict(),
                "tokenizer": run.data.tokenizer_ref(),
                "tokens": state.tokens,
                "metrics": {
                    "loss": state.loss,
                    "val_loss": state.val_loss,
                    "val_bpb": state.val_bpb,
                    "val_step": state.val_step,
                },
                "world_size": run.info.world_size,
            },
            run.out,
            state.step,
            cfg.keep_checkpoints,
        )
    state.checkpoint = path
    return path


def _interrupted(run: Run, state: RunState, signum: int | None) -> RunInterrupted:
    # A rank that received no signal itself stops because another rank did: it reports SIGTERM.
    signum = signum or signal.SIGTERM
    return RunInterrupted(
        f"stopped by {signal.Signals(signum).name} after step {state.step} of {run.end_step}; saved "
        f"{state.checkpoint}; rerun the same command to resume",
        signum,
        shown=run.info.master,
    )


# ----------------------------------------------------------------------------------------------------------
# Evaluation, the metrics line, samples.


def evaluate_log_sample(run: Run, state: RunState, bar: tqdm) -> None:
    """The step's evaluations, its metrics line and its sample, each when due.

    This is the one place evaluations during training run. It runs after save(), so on a step that
    checkpoints, the checkpoint is on disk before any evaluation starts.
    """
    cfg, step = run.cfg, state.step
    is_last = step == run.end_step
    eval_due = bool(cfg.eval_every) and (step % cfg.eval_every == 0 or is_last)
    if run.eval_batches and eval_due:
        state.val_loss, state.val_bpb = evaluate(
            run.model, run.val_loader, run.eval_batches, run.device, run.autocast, run.info, run.token_bytes
        )
        state.val_step = step
        bpb = f", val bpb {state.val_bpb:.4f}" if state.val_bpb is not None else ""
        run.say(f"step {step}: val loss {state.val_loss:.4f}{bpb}, train loss {state.loss:.4f}")
    if cfg.eval_tasks and eval_due:
        run_benchmarks(run, state)
    if run.log is not None and (
        step == 1
        or is_last
        or (cfg.log_every and step % cfg.log_every == 0)
        or (cfg.eval_every and step % cfg.eval_every == 0)
    ):
        _log_metrics(run, state, bar)
    if run.tokenizer is not None and (step % cfg.sample_every == 0 or is_last):
        _write_sample(run, state)


def _log_metrics(run: Run, state: RunState, bar: tqdm) -> None:
    record: dict[str, Any] = {
        "step": state.step,
        "loss": round(state.loss, 6),
        "lr": state.lr,
        "grad_norm": round(state.grad_norm, 6),
        "tokens": state.tokens,
        "epoch": round(run.train_loader.epoch, 4),
        "tokens_per_s": round(state.tokens_since / state.time_since, 1),
        "time_s": round(state.train_time, 3),
    }
    if state.val_step == state.step:
        record["val_loss"] = round(state.val_loss, 6)
        if state.val_bpb is not None:
            record["val_bpb"] = round(state.val_bpb, 6)
    if state.bench_step == state.step:
        record.update(state.bench)
    if run.device.type == "cuda" and run.peak_tflops:
        record["mfu"] = round(
            mfu(run.flops_per_token, record["tokens_per_s"], run.peak_tflops * run.info.world_size), 4
        )
    run.log.write(record)
    bar.set_postfix(
        loss=f"{state.loss:.3f}",
        val=f"{state.val_loss:.3f}" if state.val_loss is not None else "-",
        lr=f"{state.lr:.2e}",
        tok_s=f"{record['tokens_per_s']:.0f}",
        refresh=False,
    )
    state.tokens_since, state.time_since = 0, 0.0


def _write_sample(run: Run, state: RunState) -> None:
    cfg = run.cfg
    text = _sample(run.raw_model, run.tokenizer, cfg, run.data.eot_id, run.device, run.autocast)
    run.say(f"step {state.step} sample: " + (cfg.sample_prompt + text).replace("\n", " / ")[:300])
    with open(run.out / "samples.jsonl", "a") as f:
        f.write(json.dumps({"step": state.step, "prompt": cfg.sample_prompt, "text": text}) + "\n")


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    loader: TokenLoader,
    batches: int,
    device: torch.device,
    autocast,
    info: Dist,
    token_bytes: torch.Tensor | None = None,
) -> tuple[float, float | None]:
    """Mean loss over the first `batches` validation batches of each rank (the same ones every time), and
    bits per byte of the same targets when `token_bytes` is given: summed nats / ln 2 / their UTF-8 bytes."""
    model.eval()
    loader.reset()
    total = torch.zeros((), device=device)
    nbytes = torch.zeros((), dtype=torch.int64, device=device)
    targets = 0  # per rank; every batch is full (B, T)
    for _ in range(batches):
        x, y = next(loader)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast:
            _, loss = model(x, y)
        total += loss.float()
        targets += y.numel()
        if token_bytes is not None:
            nbytes += token_bytes[y].sum()
    if info.enabled:
        dist.all_reduce(total)
        if token_bytes is not None:
            dist.all_reduce(nbytes)
    model.train()
    loss = total.item() / (batches * info.world_size)
    if token_bytes is None or not nbytes.item():
        return loss, None
    return loss, loss * targets * info.world_size / math.log(2) / nbytes.item()


def run_benchmarks(run: Run, state: RunState) -> None:
    """The eval_tasks on rank 0, on the unwrapped model; the other ranks wait for it at a barrier."""
    if run.benchmarks is not None:
        batch_tokens = max(16384, run.cfg.micro_batch_size * run.mcfg.block_size)
        state.bench = run.benchmarks.run(run.raw_model, run.device, batch_tokens)
        state.bench_step = state.step
        run.say(f"step {state.step}: {run.benchmarks.describe(state.bench)}")
    if run.info.enabled:
        dist.barrier()


def _sample(model: GPT, tokenizer, cfg: TrainConfig, eot_id: int, device: torch.device, autocast) -> str:
    model.eval()
    with autocast:
        (text,) = complete(
            model,
            tokenizer,
            cfg.sample_prompt,
            cfg.sample_tokens,
            eot_id=eot_id,
            temperature=0.8,
            top_k=50,
            seed=cfg.seed,
            device=device,
        )
    model.train()
    return text


# ----------------------------------------------------------------------------------------------------------
# The end: ranks agree, summary.json, the loss curve.


def finish(run: Run, state: RunState, time_s: float) -> dict[str, Any]:
    checksums = _gather(_param_checksum(run.raw_model), run.info)
    if len(set(checksums)) > 1:
        raise FinemillError(f"ranks disagree after training: parameter checksums {checksums}")
    vocab = run.mcfg.vocab_size
    summary = {
        "step": state.step,
        "max_steps": run.cfg.max_steps,
        "tokens": state.tokens,
        "loss": state.loss,
        "val_loss": state.val_loss,
        "val_bpb": state.val_bpb,
        "eval": state.bench,
        "uniform_loss": math.log(vocab),
        "params": run.raw_model.num_params(),
        "flops_per_token": run.flops_per_token,
        "world_size": run.info.world_size,
        "device": str(run.device),
        "dtype": run.dtype_name,
        "rank_checksums": checksums,
        "checkpoint": str(state.checkpoint) if state.checkpoint else None,
        "time_s": round(time_s, 2),
        "out": str(run.out),
    }
    if run.info.master:
        headline = run.benchmarks.headline if run.benchmarks is not None else None
        summary["loss_curve"] = str(
            plot_loss_curve(run.out / "metrics.jsonl", run.out / "loss.png", vocab, headline=headline)
        )
        (run.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if state.val_loss is not None:
            run.say(
                f"done: step {state.step}, val loss {state.val_loss:.4f} (uniform guess {math.log(vocab):.2f})"
            )
        run.say(f"run folder: {run.out} (checkpoints/, metrics.jsonl, loss.png)")
    return summary


def _check_resumable(ckpt, path, cfg: TrainConfig, mcfg, data: TokenData, say) -> None:
    tok = ckpt.get("tokenizer") or {}
    if tok.get("vocab_size") != data.vocab_size:
        raise FinemillError(
            f"vocab mismatch: {path} was trained with a {tok.get('vocab_size')}-token vocab, but the tokens in "
            f"{data.dir} use {data.vocab_size}"
        )
    if tok.get("sha256") and data.tokenizer_sha256 and tok["sha256"] != data.tokenizer_sha256:
        raise FinemillError(
            f"{path} was trained with another tokenizer than the one of {data.dir} (sha256 differs)"
        )
    saved = ckpt["model_config"]
    diffs = [f"{k} {saved.get(k)} there, {v} here" for k, v in asdict(mcfg).items() if saved.get(k) != v]
    if diffs:
        raise FinemillError(
            f"{path} is a checkpoint of another model ({'; '.join(diffs)}): use another --out or the same model"
        )
    old = {k: v for k, v in ckpt.get("train_config", {}).items() if k != "model" and k not in RUNTIME_KEYS}
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
