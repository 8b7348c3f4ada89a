"""Several training processes under torchrun: this process's rank, joining and leaving the process group,
and the few collectives the loop needs besides DDP's gradient all-reduce."""

from __future__ import annotations

import gc
import inspect
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from finemill.common import resolve_device


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


def end_distributed(info: Dist, clean: bool) -> None:
    """Leave the process group. After a clean end (every rank finished the same steps) the ranks first
    meet at a barrier, with their DDP wrappers already collected: a rank that left while rank 0 was still
    writing the summary, its gloo threads still owned by a DDP wrapper awaiting garbage collection, could
    abort at exit ("terminate called without an active exception")."""
    if not (info.enabled and dist.is_initialized()):
        return
    gc.collect()  # the DDP wrapper of a finished run, and its reference to the process group
    if clean:
        dist.barrier()
    dist.destroy_process_group()


def wrap_ddp(model: torch.nn.Module, device: torch.device) -> DDP:
    """DDP without syncing buffers at each forward: the RoPE tables are the only buffers and never change.
    torch >= 2.13 names that forward_sync_buffers (broadcast_buffers is deprecated, with a FutureWarning)."""
    device_ids = [device.index] if device.type == "cuda" else None
    if "forward_sync_buffers" in inspect.signature(DDP.__init__).parameters:
        return DDP(model, device_ids=device_ids, forward_sync_buffers=False)
    return DDP(model, device_ids=device_ids, broadcast_buffers=False)


def gather(obj: Any, info: Dist) -> list[Any]:
    """Every rank's `obj`, in rank order (a list of one without torchrun)."""
    if not info.enabled:
        return [obj]
    gathered: list[Any] = [None] * info.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def from_rank0(obj: Any, info: Dist) -> Any:
    """Rank 0's `obj` on every rank."""
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
