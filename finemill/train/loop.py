"""The training loop: `train(cfg)`, the same code on a laptop CPU and on GPUs under torchrun.

It reads like this (`train_loop`), around a small `RunState` (step, tokens, latest losses, checkpoint):

    run, state = setup(cfg, ...)            # model, optimizer, data, run folder; resumed from a checkpoint
    while state.step < run.end_step:
        stopping = train_step(run, state)   # one optimizer step; True on SIGINT/SIGTERM (all ranks agree)
        if stopping or checkpoint_due(run, state):
            save(run, state)                # before any evaluation: an evaluation crash never loses training
        evaluate_log_sample(run, state, stopping)  # validation, benchmarks, the metrics line, a sample
        if stopping: raise RunInterrupted   # exit 130 (SIGINT) or 143 (SIGTERM); a rerun resumes
    summary = finish(run, state)

On CUDA: bf16 autocast (weights and optimizer state stay fp32), TF32 for the remaining fp32 matmuls,
fused AdamW, flash attention through SDPA, optional torch.compile, NCCL. On CPU: fp32, gloo, and the
matmul backend that `cpu_matmul` names or finds faster (finemill.model.cpu_linear).
"""

from __future__ import annotations

import json
import math
import signal
import time
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from finemill.errors import FinemillError
from finemill.model import cpu_linear
from finemill.model.checkpoint import checkpoint_dir, save_checkpoint
from finemill.model.generate import complete
from finemill.train.config import TrainConfig
from finemill.train.distributed import end_distributed, gather, setup_distributed
from finemill.train.evals import evaluate
from finemill.train.interrupt import RunInterrupted, StopSignals
from finemill.train.metrics import mfu, plot_loss_curve
from finemill.train.optimizer import lr_at
from finemill.train.progress import Progress
from finemill.train.resume import rng_state
from finemill.train.setup import Run, RunState, setup


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
    clean = False
    try:
        progress = Progress(info.master, show_progress)
        summary = train_loop(*setup(cfg, info, device, progress, config_name, resume, stop_at))
        clean = True  # the run (and its DDP wrapper) is gone: the ranks may leave together
        return summary
    finally:
        end_distributed(info, clean)


def train_loop(run: Run, state: RunState) -> dict[str, Any]:
    """The steps from state.step to run.end_step, then the summary.

    Each step saves (when due) before it evaluates, so a checkpoint of a step is on disk before any
    evaluation of that step starts: an evaluation that crashes never loses training.
    """
    run.progress.start(run.cfg.max_steps, state.step)
    started = time.perf_counter()
    try:
        with StopSignals() as stop:
            while state.step < run.end_step:
                stopping = train_step(run, state, stop.requested)
                if stopping or checkpoint_due(run, state):
                    save(run, state)
                evaluate_log_sample(run, state, stopping)
                run.progress.step(state.step)
                if stopping and state.step < run.end_step:
                    raise _interrupted(run, state, stop.signum)
    finally:
        run.progress.close(state.step)
    return finish(run, state, time.perf_counter() - started)


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
    cfg, info, device, net, accum = run.cfg, run.info, run.device, run.net, run.batches.accum
    state.step += 1
    state.lr = lr_at(state.step, cfg)
    for group in net.optimizer.param_groups:
        group["lr"] = state.lr
    loss_sum = torch.zeros((), device=device)
    for micro in range(accum):
        x, y = next(run.batches.train)  # (B, T) each
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        # DDP all-reduces gradients on the last micro-batch only; the others just accumulate.
        sync = nullcontext() if not info.enabled or micro == accum - 1 else net.forward.no_sync()
        with sync:
            with net.autocast:
                _, loss = net.forward(x, y)
            (loss / accum).backward()
        loss_sum += loss.detach()
    reduced = torch.stack([loss_sum, torch.tensor(float(stop_requested), device=device)])
    if info.enabled:
        dist.all_reduce(reduced)  # SUM (gloo has no AVG): the loss is divided by the world size below
    # One host sync per step: the loss (for the NaN check and the log), the gradient norm and the stop vote.
    loss_val, norm_val, stop_votes = torch.stack(
        [reduced[0] / (accum * info.world_size), _grad_norm(run).float(), reduced[1]]
    ).tolist()
    _check_finite(loss_val, norm_val, state)
    net.optimizer.step()
    net.optimizer.zero_grad(set_to_none=True)
    state.loss, state.grad_norm = loss_val, norm_val
    state.tokens += run.batches.tokens_per_step
    dt = time.perf_counter() - t0
    state.train_time += dt
    state.time_since += dt
    state.tokens_since += run.batches.tokens_per_step
    return stop_votes > 0


def _grad_norm(run: Run) -> torch.Tensor:
    """The global gradient norm, clipped to grad_clip when that is set (the norm before clipping)."""
    params = run.net.raw.parameters()
    if run.cfg.grad_clip > 0:
        return torch.nn.utils.clip_grad_norm_(params, run.cfg.grad_clip)
    return torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])


def _check_finite(loss: float, grad_norm: float, state: RunState) -> None:
    if math.isfinite(loss) and math.isfinite(grad_norm):
        return
    kept = (
        f"the last good checkpoint is {state.checkpoint}"
        if state.checkpoint
        else "no checkpoint was written yet"
    )
    raise FinemillError(
        f"loss is {loss} (gradient norm {grad_norm}) at step {state.step}: stopping before the weights "
        f"are updated; {kept}. Try a lower lr or more warmup_steps."
    )


# ----------------------------------------------------------------------------------------------------------
# Checkpoints.


def checkpoint_due(run: Run, state: RunState) -> bool:
    every = run.cfg.checkpoint_every
    return state.step == run.end_step or bool(every and state.step % every == 0)


def save(run: Run, state: RunState) -> Path:
    """Checkpoint the run at state.step. A collective under DDP: every rank calls it, rank 0 writes."""
    cfg = run.cfg
    rngs = gather(rng_state(), run.info)
    path = checkpoint_dir(run.out) / f"step_{state.step:08d}.pt"
    if run.info.master:
        content = {
            "model": run.net.raw.state_dict(),
            "optimizer": run.net.optimizer.state_dict(),
            "schedule": {"name": cfg.schedule, "lr": lr_at(state.step, cfg), "max_steps": cfg.max_steps},
            "data": run.batches.train.state_dict(),
            "rng": rngs,
            "model_config": asdict(cfg.model),
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
            "cpu_matmul": cpu_linear.backend(),  # what an `auto` run resumed from here keeps
        }
        path = save_checkpoint(content, run.out, state.step, cfg.keep_checkpoints)
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


def evaluate_log_sample(run: Run, state: RunState, stopping: bool = False) -> None:
    """The step's evaluations, its metrics line and its sample, each when due; a step stopped by a signal
    writes its metrics line (a rerun resumes after it) and nothing more.

    This is the one place evaluations during training run. It runs after save(), so on a step that
    checkpoints, the checkpoint is on disk before any evaluation starts.
    """
    cfg, step, evals = run.cfg, state.step, run.evals
    is_last = step == run.end_step
    eval_due = bool(cfg.eval_every) and (step % cfg.eval_every == 0 or is_last)
    if evals.batches and eval_due:
        state.val_loss, state.val_bpb = evaluate(
            run.net.forward,
            run.batches.val,
            evals.batches,
            run.device,
            run.net.autocast,
            run.info,
            evals.token_bytes,
        )
        state.val_step = step
        bpb = f", val bpb {state.val_bpb:.4f}" if state.val_bpb is not None else ""
        run.progress.say(f"step {step}: val loss {state.val_loss:.4f}{bpb}, train loss {state.loss:.4f}")
    if cfg.eval_tasks and eval_due:
        run_benchmarks(run, state)
    if run.log is not None and (
        step == 1
        or is_last
        or stopping
        or (cfg.log_every and step % cfg.log_every == 0)
        or (cfg.eval_every and step % cfg.eval_every == 0)
    ):
        _log_metrics(run, state)
    if run.tokenizer is not None and (step % cfg.sample_every == 0 or is_last):
        _write_sample(run, state)


def _log_metrics(run: Run, state: RunState) -> None:
    record: dict[str, Any] = {
        "step": state.step,
        "loss": round(state.loss, 6),
        "lr": state.lr,
        "grad_norm": round(state.grad_norm, 6),
        "tokens": state.tokens,
        "epoch": round(run.batches.train.epoch, 4),
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
        peak = run.peak_tflops * run.info.world_size
        record["mfu"] = round(mfu(run.net.raw.flops_per_token(), record["tokens_per_s"], peak), 4)
    run.log.write(record)
    run.progress.metrics(state.loss, state.val_loss, state.lr, record["tokens_per_s"])
    state.tokens_since, state.time_since = 0, 0.0


def run_benchmarks(run: Run, state: RunState) -> None:
    """The eval_tasks on rank 0, on the unwrapped model; the other ranks wait for it at a barrier."""
    benchmarks = run.evals.benchmarks
    if benchmarks is not None:
        batch_tokens = max(16384, run.cfg.micro_batch_size * run.cfg.model.block_size)
        state.bench = benchmarks.run(run.net.raw, run.device, batch_tokens)
        state.bench_step = state.step
        run.progress.say(f"step {state.step}: {benchmarks.describe(state.bench)}")
    if run.info.enabled:
        dist.barrier()


def _write_sample(run: Run, state: RunState) -> None:
    cfg, model = run.cfg, run.net.raw
    model.eval()
    with run.net.autocast:
        (text,) = complete(
            model,
            run.tokenizer,
            cfg.sample_prompt,
            cfg.sample_tokens,
            eot_id=run.data.eot_id,
            temperature=0.8,
            top_k=50,
            seed=cfg.seed,
            device=run.device,
        )
    model.train()
    run.progress.say(f"step {state.step} sample: " + (cfg.sample_prompt + text).replace("\n", " / ")[:300])
    with open(run.out / "samples.jsonl", "a") as f:
        f.write(json.dumps({"step": state.step, "prompt": cfg.sample_prompt, "text": text}) + "\n")


# ----------------------------------------------------------------------------------------------------------
# The end: ranks agree, summary.json, the loss curve.


def finish(run: Run, state: RunState, time_s: float) -> dict[str, Any]:
    checksums = gather(_param_checksum(run.net.raw), run.info)
    if len(set(checksums)) > 1:
        raise FinemillError(f"ranks disagree after training: parameter checksums {checksums}")
    vocab = run.cfg.model.vocab_size
    summary = {
        "step": state.step,
        "max_steps": run.cfg.max_steps,
        "tokens": state.tokens,
        "loss": state.loss,
        "val_loss": state.val_loss,
        "val_bpb": state.val_bpb,
        "eval": state.bench,
        "uniform_loss": math.log(vocab),
        "params": run.net.raw.num_params(),
        "flops_per_token": run.net.raw.flops_per_token(),
        "world_size": run.info.world_size,
        "device": str(run.device),
        "dtype": run.net.dtype_name,
        "rank_checksums": checksums,
        "checkpoint": str(state.checkpoint) if state.checkpoint else None,
        "time_s": round(time_s, 2),
        "out": str(run.out),
    }
    if run.info.master:
        _write_summary(run, state, summary)
    return summary


def _write_summary(run: Run, state: RunState, summary: dict[str, Any]) -> None:
    vocab, say = run.cfg.model.vocab_size, run.progress.say
    headline = run.evals.benchmarks.headline if run.evals.benchmarks is not None else None
    summary["loss_curve"] = str(
        plot_loss_curve(run.out / "metrics.jsonl", run.out / "loss.png", vocab, headline=headline)
    )
    (run.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if state.val_loss is not None:
        say(f"done: step {state.step}, val loss {state.val_loss:.4f} (uniform guess {math.log(vocab):.2f})")
    say(f"run folder: {run.out} (checkpoints/, metrics.jsonl, loss.png)")


def _param_checksum(model: torch.nn.Module) -> float:
    """A float that changes with any weight: ranks of a DDP run must agree on it bit for bit."""
    with torch.no_grad():
        total = torch.zeros((), dtype=torch.float64, device=next(model.parameters()).device)
        for i, p in enumerate(model.parameters()):
            total += (p.double() * (1 + i % 7)).sum() + p.double().abs().sum()
    return total.item()
