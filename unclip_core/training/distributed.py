"""Training on several processes (Lightning's DDP): who writes, and gathering across ranks.

Every process runs the same command. Lightning's launcher starts the other ranks as copies of
the first, torchrun and SLURM start them all; each then trains its share of every batch. Files
that describe the run (the exported pipeline, finished.json) are written by rank 0 alone, and
the others wait for it before reading them.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from lightning.fabric.utilities.rank_zero import rank_zero_only

T = TypeVar("T")


def process_count() -> int:
    """Processes training together (1 when training alone or before they have met)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def leave_process_group() -> None:
    """End this process's part in a multi-process run. Left to the interpreter's exit, the
    process group's communication threads can outlive it and abort the process after the work
    is done ("terminate called without an active exception"), failing a finished run.

    The finished run's trainer and modules sit in reference cycles that only the garbage
    collector frees, and a sharded (FSDP) module holds the group through its device mesh: it is
    collected first, so the group's last references go while the interpreter is whole (without
    this, 4 of 40 two-process FSDP runs of the tiny graph's decoder aborted at exit; with it, none of 40)."""
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()
        gc.collect()


def is_main_process() -> bool:
    """Rank 0, or the only process. Lightning sets the rank from the launcher's environment
    (LOCAL_RANK, RANK, SLURM_PROCID) before the processes meet, so this holds from the start."""
    return getattr(rank_zero_only, "rank", 0) == 0


def main_process_writes(write: Callable[[], T]) -> T | None:
    """Run `write` on rank 0 only; every rank returns once it is done, so what it wrote can be
    read, and every rank raises when it failed (rather than wait for it forever)."""
    result, failure = None, None
    if is_main_process():
        try:
            result = write()
        except Exception as exc:  # re-raised below, once the other ranks know
            failure = exc
    if process_count() > 1:
        outcome = [None if failure is None else f"{type(failure).__name__}: {failure}"]
        dist.broadcast_object_list(outcome, src=0)  # also the wait: rank 0 sends once it is done
        if outcome[0] is not None and failure is None:
            raise RuntimeError(f"rank 0 could not write the run's files ({outcome[0]})")
    if failure is not None:
        raise failure
    return result


def gather_rows(tensor: torch.Tensor) -> torch.Tensor:
    """Every process's `tensor` stacked along dim 0, in rank order (the same shape on every rank).

    Differentiable: the gradient of a loss on the result reaches each process's own rows from
    every process, so the average DDP takes is the gradient of the loss on the global batch."""
    if process_count() == 1:
        return tensor
    return _GatherRows.apply(tensor)


class _GatherRows(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(tensor) for _ in range(process_count())]
        dist.all_gather(parts, tensor.contiguous())
        ctx.rows = tensor.shape[0]
        return torch.cat(parts)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        # Each process's loss reaches every row; the rows' gradient is their sum over processes.
        grad = grad.contiguous()
        dist.all_reduce(grad)
        start = dist.get_rank() * ctx.rows
        return grad[start : start + ctx.rows]


def gather_objects(items: list[Any]) -> list[Any]:
    """Every process's list, concatenated in rank order (for strings, e.g. validation captions)."""
    if process_count() == 1:
        return items
    parts: list[list[Any] | None] = [None] * process_count()
    dist.all_gather_object(parts, items)
    return [item for part in parts for item in (part or [])]
