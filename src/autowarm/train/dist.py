"""Process setup for ``torchrun``: rank, world size, device, and the few collectives the loop uses.

Launched by ``torchrun --nproc_per_node N`` (``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` set), the
process group uses NCCL on CUDA and gloo on CPU; a plain ``python`` launch is a world of one and
initialises nothing.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process runs."""

    rank: int  # global rank (0 writes the run directory)
    world_size: int  # number of processes
    local_rank: int  # rank on this machine (selects the GPU)
    local_world_size: int  # processes on this machine (shares the CPU cores)
    device: torch.device  # the device of model and batches
    initialized_here: bool = False  # True when setup() created the process group

    @property
    def is_main(self) -> bool:
        """True on rank 0."""
        return self.rank == 0


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cuda"`` without a GPU raises ValueError."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch.cuda.is_available() is False")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda'; got {device!r}")
    return torch.device(device)


def setup(device: str = "auto") -> DistInfo:
    """Read the ``torchrun`` environment, pick the device, initialise the process group if needed."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    dev = resolve_device(device)
    if dev.type == "cuda":
        dev = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(dev)
    created = False
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        created = True
    if dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
    return DistInfo(rank, world, local_rank, local_world, dev, created)


def teardown(info: DistInfo, *, clean: bool = True) -> None:
    """Destroy the process group if :func:`setup` created it.

    After a clean run every rank first meets at a barrier, so that none closes its connections
    while another still completes a collective (gloo aborts the process then). After an error
    there is no barrier: the other ranks may never reach it. Before the group is destroyed,
    unreachable objects that still hold it (a ``DistributedDataParallel`` module's reducer sits
    in a reference cycle) are collected, so the group and its worker threads are released here,
    in order, and not during interpreter shutdown, where a gloo thread still alive aborts the
    process ("terminate called without an active exception"). Call it after dropping your own
    references to the model wrapper.
    """
    if info.initialized_here and dist.is_initialized():
        if clean:
            barrier(info)
        gc.collect()
        dist.destroy_process_group()
        gc.collect()


def barrier(info: DistInfo) -> None:
    """Wait for every rank (no-op for a world of one)."""
    if info.world_size > 1:
        if info.device.type == "cuda":
            dist.barrier(device_ids=[info.device.index])
        else:
            dist.barrier()


def all_reduce_sum(tensor: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum ``tensor`` over ranks in place (no-op for a world of one); returns it."""
    if info.world_size > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def default_threads(info: DistInfo) -> int:
    """CPU threads per process: the usable cores shared by the processes on this machine."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, info.local_world_size))
