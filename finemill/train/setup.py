"""Set-up of a training run: everything `train_loop` uses, built once by small named steps.

data, cfg   the tokens folder, and the config with the tokens' vocabulary size (the one model config)
net         the model (and what training forwards through: compiled, DDP), optimizer, precision
batches     the train and val loaders, gradient accumulation
evals       validation batches, token byte lengths for bits per byte, encoded benchmarks
the state   of the checkpoint resumed from, if any
out         the run folder (config.yaml, tokenizer files), the metrics log, the sample tokenizer
"""

from __future__ import annotations

import shutil
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
import yaml

from finemill import run_folder, storage
from finemill.errors import FinemillError
from finemill.model import cpu_linear
from finemill.model.checkpoint import load_checkpoint
from finemill.model.generate import prompt_tokenizer
from finemill.model.gpt import GPT
from finemill.tokenize.token_source import open_tokens
from finemill.tokenize.tokens_folder import TokenData
from finemill.train.config import TrainConfig
from finemill.train.data import TokenLoader
from finemill.train.distributed import Dist, from_rank0, wrap_ddp
from finemill.train.evals import Evals, check_tasks_available, prepare_evals
from finemill.train.metrics import MetricsLog, peak_tflops
from finemill.train.optimizer import configure_optimizer
from finemill.train.progress import Progress
from finemill.train.resume import check_resumable, resume_checkpoint, set_rng_state


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
class Net:
    """The model being trained and what updates it."""

    raw: GPT  # the weights that are saved and sampled from
    forward: torch.nn.Module  # what training forwards through: raw, compiled and/or wrapped in DDP
    optimizer: torch.optim.Optimizer
    autocast: Any
    dtype_name: str  # "bfloat16" or "float32"


@dataclass
class Batches:
    train: TokenLoader
    val: TokenLoader
    accum: int  # micro-batches per optimizer step on each rank
    tokens_per_step: int  # all ranks together


@dataclass
class Run:
    """What setup() builds once and the phases use."""

    cfg: TrainConfig  # cfg.model.vocab_size is the tokens' vocabulary size
    info: Dist
    device: torch.device
    data: TokenData
    out: Path
    net: Net
    batches: Batches
    evals: Evals
    progress: Progress  # its `say` is the run's one way to print
    log: MetricsLog | None  # rank 0 only
    tokenizer: Any  # for samples; None when sampling is off or the tokenizer file is missing (rank 0 only)
    peak_tflops: float | None  # per accelerator, for MFU
    end_step: int  # max_steps, or --stop-at
    resumed_from: Path | None


def setup(
    cfg: TrainConfig,
    info: Dist,
    device: torch.device,
    progress: Progress,
    config_name: str = "run",
    resume: str | bool | None = None,
    stop_at: int | None = None,
) -> tuple[Run, RunState]:
    say = progress.say
    if cfg.eval_tasks and cfg.eval_every:
        check_tasks_available(cfg.eval_tasks)  # a missing benchmark package fails now, not after training
    data = open_tokens(cfg.data)  # a tokens folder, or llm.c .bin shards
    cfg = with_vocab(cfg, data)
    out = Path(cfg.out) if cfg.out else default_out(data, config_name, cfg.data)
    ckpt_path = resume_checkpoint(resume, out)
    ckpt = load_checkpoint(ckpt_path) if ckpt_path else None
    if ckpt is not None:
        check_resumable(ckpt, ckpt_path, cfg, data, say)
    net = build_net(cfg, device)
    batches = build_batches(cfg, data, info, device)
    evals = prepare_evals(cfg, data, batches.val, info, device, say)
    state = RunState()
    if ckpt is not None:
        restore(ckpt, net, batches.train, info, state)
        state.checkpoint = ckpt_path
    choose_cpu_matmul(cfg, net, device, info, ckpt.get("cpu_matmul") if ckpt else None, say)
    del ckpt
    net.forward = wrap(net.raw, cfg, info, device)
    run = Run(
        cfg=cfg,
        info=info,
        device=device,
        data=data,
        out=out,
        net=net,
        batches=batches,
        evals=evals,
        progress=progress,
        log=MetricsLog(out / "metrics.jsonl", state.step if ckpt_path else None) if info.master else None,
        tokenizer=prepare_out(out, cfg, data, say) if info.master else None,
        peak_tflops=gpu_peak(cfg, device, net.dtype_name),
        end_step=min(cfg.max_steps, stop_at) if stop_at else cfg.max_steps,
        resumed_from=ckpt_path,
    )
    describe(run, state)
    return run, state


def with_vocab(cfg: TrainConfig, data: TokenData) -> TrainConfig:
    """The config with model.vocab_size set to the tokens' vocabulary (checked when the config names one):
    the one model config the model is built from and the checkpoint records."""
    data.check_vocab(cfg.model.vocab_size)
    return replace(cfg, model=replace(cfg.model, vocab_size=data.vocab_size))


def default_out(data: TokenData, config_name: str, data_path: str | None = None) -> Path:
    """<tokens folder>/../train-<config name without 'train-'>: next to the tokens of the same run. Tokens
    on object storage: train-<name> in the current folder (checkpoints are written to local disk)."""
    if data_path is not None and storage.is_remote(data_path):
        return run_folder.train(Path.cwd(), config_name)
    return run_folder.train(data.dir.resolve().parent, config_name)


def build_net(cfg: TrainConfig, device: torch.device) -> Net:
    if device.type == "cuda":
        torch.set_float32_matmul_precision("high")  # TF32 for fp32 matmuls outside autocast
    torch.manual_seed(cfg.seed)  # identical initial weights on every rank (DDP also broadcasts them)
    raw = GPT(cfg.model).to(device)
    autocast, dtype_name = autocast_context(cfg, device)
    return Net(raw, raw, configure_optimizer(raw, cfg, device), autocast, dtype_name)


def autocast_context(cfg: TrainConfig, device: torch.device):
    """bf16 autocast on CUDA (auto) or when asked for; otherwise plain fp32."""
    dtype = cfg.dtype
    if dtype == "auto":
        dtype = "bfloat16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "float32"
    if dtype == "bfloat16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16), "bfloat16"
    return nullcontext(), "float32"


def build_batches(cfg: TrainConfig, data: TokenData, info: Dist, device: torch.device) -> Batches:
    B, T, world = cfg.micro_batch_size, cfg.model.block_size, info.world_size
    accum = grad_accumulation(cfg, world)
    train = TokenLoader(
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
    val = TokenLoader(data, "val", B, T, shuffle=False, rank=info.rank, world_size=world)
    return Batches(train, val, accum, B * T * accum * world)


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


def restore(ckpt: dict[str, Any], net: Net, train_loader: TokenLoader, info: Dist, state: RunState) -> None:
    """The checkpoint's weights, optimizer, data position, this rank's RNG states and step."""
    net.raw.load_state_dict(ckpt["model"])
    net.optimizer.load_state_dict(ckpt["optimizer"])
    train_loader.load_state_dict(ckpt["data"])
    rngs = ckpt.get("rng") or []
    if len(rngs) == info.world_size:
        set_rng_state(rngs[info.rank])
    state.step, state.tokens = ckpt["step"], ckpt.get("tokens", 0)


def choose_cpu_matmul(
    cfg: TrainConfig, net: Net, device: torch.device, info: Dist, resumed: str | None, say
) -> None:
    """cpu_matmul on a float32 CPU run (finemill.model.cpu_linear): as set, or with `auto` the faster
    backend on this machine, timed by rank 0 for every rank; a resumed `auto` run keeps its checkpoint's,
    so its steps compute as the first ones did."""
    if device.type != "cpu" or net.dtype_name != "float32" or cfg.compile:
        return  # oneDNN's matmul does not apply: torch's own kernels run
    if cfg.cpu_matmul == "auto" and resumed in cpu_linear.BACKENDS:
        cpu_linear.use(resumed)
        say(f"cpu matmul: {resumed} (auto: the one the checkpoint was trained with)")
        return
    line = None
    if info.master:
        rows = cfg.micro_batch_size * cfg.model.block_size
        line = cpu_linear.choose(cfg.cpu_matmul, net.raw.linear_shapes(), rows)
    cpu_linear.use(from_rank0(cpu_linear.backend(), info))
    if line:
        say(line)


def wrap(raw: GPT, cfg: TrainConfig, info: Dist, device: torch.device) -> torch.nn.Module:
    """What training forwards through: the model, compiled if asked, in DDP under torchrun."""
    model: torch.nn.Module = torch.compile(raw) if cfg.compile else raw
    return wrap_ddp(model, device) if info.enabled else model


def prepare_out(out: Path, cfg: TrainConfig, data: TokenData, say):
    """Rank 0: the run folder with config.yaml, tokenizer.json and tokenizer_config.json (so AutoTokenizer
    loads the folder); the tokenizer for samples, if sampling."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    if not data.check_tokenizer_file():
        if cfg.sample_every:
            say(f"note: {data.tokenizer_path} not found: no samples during training")
        return None
    shutil.copyfile(data.tokenizer_path, out / "tokenizer.json")  # the run decodes without its tokens
    hf_config = data.tokenizer_path.parent / "tokenizer_config.json"
    if hf_config.is_file():
        shutil.copyfile(hf_config, out / "tokenizer_config.json")
    return prompt_tokenizer(data.tokenizer_path) if cfg.sample_every else None


def gpu_peak(cfg: TrainConfig, device: torch.device, dtype_name: str) -> float | None:
    if cfg.peak_tflops is None and device.type == "cuda":
        return peak_tflops(torch.cuda.get_device_name(device), dtype_name)  # TF32 peak for fp32 runs
    return cfg.peak_tflops


def describe(run: Run, state: RunState) -> None:
    cfg, m, say = run.cfg, run.cfg.model, run.progress.say
    say(
        f"model: {run.net.raw.num_params() / 1e6:.2f}M parameters ({m.n_layer} layers, width {m.n_embd}, "
        f"{m.n_head} heads, context {m.block_size}, vocab {m.vocab_size}), "
        f"{run.net.raw.flops_per_token() / 1e6:.1f} MFLOP/token"
    )
    say(
        f"train: {run.batches.train.stream.tokens_per_epoch:,} tokens/epoch, "
        f"{run.batches.tokens_per_step:,} tokens/step ({cfg.micro_batch_size} x {m.block_size} x "
        f"{run.batches.accum} accumulation x {run.info.world_size} ranks), "
        f"{cfg.max_steps} steps on {run.device} in {run.net.dtype_name}"
        + (f", resuming at step {state.step} from {run.resumed_from}" if run.resumed_from else "")
    )
    if state.step >= run.end_step:
        say(f"nothing to do: already at step {state.step} (max_steps {cfg.max_steps})")
