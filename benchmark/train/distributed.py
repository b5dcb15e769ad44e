"""torch.distributed as launched by ``torchrun``: one process per device, rank 0 speaks for the run.

``torchrun`` (or ``srun`` with the same environment) sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and
the rendezvous address; :func:`init_distributed` reads them and joins the process group (NCCL on CUDA,
gloo on CPU).  Without them it returns a single-process :class:`DistContext` whose collectives are
no-ops, so the same code path runs on a laptop and on a cluster.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any, List

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    backend: str = "none"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def all_reduce_sum(self, t: torch.Tensor) -> torch.Tensor:
        """The sum of ``t`` over ranks (a copy; on the backend's device, returned on ``t``'s)."""
        if not self.active:
            return t
        dev = torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")
        out = t.detach().to(dev).clone()
        dist.all_reduce(out)
        return out.to(t.device)

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if not self.active:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def all_gather_object(self, obj: Any) -> List[Any]:
        if not self.active:
            return [obj]
        out: List[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def average_gradients(self, module: torch.nn.Module) -> None:
        """All-reduce and average the gradients of ``module`` in one flat buffer per dtype."""
        if not self.active:
            return
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    def broadcast_module(self, module: torch.nn.Module) -> None:
        """Rank 0's parameters and buffers on every rank (what DDP does at wrap time)."""
        if not self.active:
            return
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=0)


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(device: str, timeout_min: int = 60) -> DistContext:
    """Join the process group torchrun describes, or return the single-process context."""
    if not launched_by_torchrun():
        return DistContext()
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=dt.timedelta(minutes=timeout_min))
    return DistContext(rank, world, local, backend)


def shutdown(ctx: DistContext) -> None:
    if ctx.active and dist.is_initialized():
        dist.destroy_process_group()


def local_device(device: str, ctx: DistContext) -> str:
    """``cuda`` becomes ``cuda:LOCAL_RANK`` under torchrun; anything else is kept."""
    return f"cuda:{ctx.local_rank}" if device == "cuda" and ctx.active else device
