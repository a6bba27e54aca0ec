"""torch.distributed set-up: DDP over gloo when launched by ``torchrun``, else one process.

``torchrun --nproc-per-node N ...`` starts N processes and sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` in each; :func:`init_from_env` reads
them and joins the process group with the gloo backend (CPU). Without them (or with
``WORLD_SIZE=1``) training runs in this one process and every collective below is the
identity.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

log = logging.getLogger(__name__)

__all__ = ["DistContext", "init_from_env"]

TIMEOUT = _dt.timedelta(minutes=60)
"""How long a collective waits for the other ranks before failing. Generous, because the
other ranks wait at a broadcast while rank 0 computes the statistics in one pass over the
training data; a rank that fails ends the others sooner (torchrun stops them)."""


@dataclass
class DistContext:
    """Rank, world size, and whether this module started the process group."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Element-wise float64 sum over ranks (identical result on every rank)."""
        values = np.asarray(values, dtype=np.float64)
        if not self.distributed:
            return values
        t = torch.from_numpy(values.copy())
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        # rank 0's result for everyone: decisions taken from it agree bit for bit
        dist.broadcast(t, src=0)
        return t.numpy()

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if not self.distributed:
            return obj
        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def close(self) -> None:
        """Leave the process group if :func:`init_from_env` created it."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, given "
                         f"{value!r}") from None


def init_from_env(backend: str = "gloo") -> DistContext:
    """Join the process group described by torchrun's environment variables.

    Uses an already initialised group as it is. With ``WORLD_SIZE`` unset or 1, returns a
    single-process context and starts nothing.

    Raises
    ------
    ValueError
        ``WORLD_SIZE > 1`` but ``RANK``, ``MASTER_ADDR`` or ``MASTER_PORT`` is missing, or
        a rank outside ``0 .. WORLD_SIZE-1``.
    """
    if dist.is_available() and dist.is_initialized():
        return DistContext(rank=dist.get_rank(), world_size=dist.get_world_size(),
                           local_rank=_env_int("LOCAL_RANK", 0), owns_group=False)
    world = _env_int("WORLD_SIZE", 1)
    if world <= 1:
        return DistContext()
    missing = [v for v in ("RANK", "MASTER_ADDR", "MASTER_PORT") if not os.environ.get(v)]
    if missing:
        raise ValueError(f"WORLD_SIZE={world} but {missing} not set; launch with torchrun "
                         "(e.g. torchrun --nproc-per-node 2 -m climlearn train --config F)")
    rank = _env_int("RANK", 0)
    if not 0 <= rank < world:
        raise ValueError(f"RANK must be in 0..{world - 1}, given {rank}")
    dist.init_process_group(backend=backend, rank=rank, world_size=world, timeout=TIMEOUT)
    log.info("rank %d of %d joined the %s process group (%s:%s)", rank, world, backend,
             os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"])
    return DistContext(rank=rank, world_size=world, local_rank=_env_int("LOCAL_RANK", 0),
                       owns_group=True)
