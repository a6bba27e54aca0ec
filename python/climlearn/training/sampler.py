"""The sample order of an epoch: identical for any number of ranks.

The training chunks are dealt, in a seeded random order, to ``S`` *streams* (stream ``s``
gets chunks ``perm[s::S]``). Each stream reads its chunks a window of ``shuffle_chunks``
at a time, shuffles the samples of the window (plus the few left over from the previous
one) with a generator seeded by ``(seed, epoch, stream, window)``, and cuts them into
micro-batches of ``batch_size / S`` samples. Global batch ``b`` is micro-batch ``b`` of
streams ``0, 1, ..., S-1`` in that order; every stream gives the same number of
micro-batches, ``steps``, the smallest whole number any stream can fill (the few samples
left over change from epoch to epoch).

With ``W`` ranks (``S`` a multiple of ``W``), rank ``r`` runs streams
``r S/W .. (r+1) S/W - 1``: it reads only their chunks and its local batch is its slice of
the global batch. Nothing in the order depends on ``W``, so with gradients averaged over
ranks (DDP), W ranks compute the same updates as one process, up to round-off.

Memory per rank is bounded by its ``S/W`` stream buffers: about
``(S/W) * (shuffle_chunks + 1)`` chunks, whatever the size of the data set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .data import ChunkedSamples

log = logging.getLogger(__name__)

__all__ = ["EpochPlan", "plan_epoch", "rank_streams", "iter_stream", "iter_local_batches",
           "validation_chunks", "split_chunks"]


@dataclass(frozen=True)
class EpochPlan:
    """The order of one epoch.

    Attributes
    ----------
    epoch
        Epoch number (0-based), part of the seed of every shuffle.
    streams
        Chunk numbers of each stream, in reading order.
    micro
        Samples each stream gives to a global batch (``batch_size / S``).
    steps
        Global batches (optimiser steps) in the epoch.
    dropped
        Training samples not used this epoch.
    """

    epoch: int
    streams: tuple[np.ndarray, ...]
    micro: int
    steps: int
    dropped: int

    @property
    def n_streams(self) -> int:
        return len(self.streams)


def split_chunks(n_chunks: int, validation_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation chunk numbers: the last ``round(f * n_chunks)`` chunks (at
    least one when ``f > 0``) are held out, so validation comes after training in the
    streamed dimension (less leakage through autocorrelation in time)."""
    n_val = 0 if validation_fraction <= 0 else max(1, round(validation_fraction * n_chunks))
    if n_val >= n_chunks:
        raise ValueError(f"validation_fraction {validation_fraction} leaves no training "
                         f"chunk out of {n_chunks}; use a smaller chunk_size or fraction")
    return np.arange(n_chunks - n_val), np.arange(n_chunks - n_val, n_chunks)


def plan_epoch(train_chunks: Sequence[int], chunk_lengths: np.ndarray, *, n_streams: int,
               batch_size: int, seed: int, epoch: int) -> EpochPlan:
    """Deal the training chunks to streams and count the global batches of an epoch.

    Parameters
    ----------
    train_chunks
        Chunk numbers available for training.
    chunk_lengths
        Samples per chunk, indexed by chunk number.
    n_streams, batch_size
        ``S`` and the global batch size (a multiple of ``S``).
    seed, epoch
        Seed the deal (a new order every epoch).

    Raises
    ------
    ValueError
        Fewer chunks than streams, ``batch_size`` not a multiple of ``n_streams``, or a
        stream too small for one micro-batch.
    """
    train_chunks = np.asarray(train_chunks, dtype=np.int64)
    if batch_size % n_streams:
        raise ValueError(f"batch_size ({batch_size}) must be a multiple of the number of "
                         f"streams ({n_streams})")
    if len(train_chunks) < n_streams:
        raise ValueError(f"{len(train_chunks)} training chunk(s) cannot feed {n_streams} "
                         "streams; use a smaller chunk_size or fewer streams")
    micro = batch_size // n_streams
    perm = np.random.default_rng([seed, epoch]).permutation(train_chunks)
    streams = tuple(perm[s::n_streams] for s in range(n_streams))
    sizes = [int(chunk_lengths[s].sum()) for s in streams]
    steps = min(sizes) // micro
    if steps == 0:
        raise ValueError(f"a stream holds only {min(sizes)} samples, fewer than the "
                         f"{micro} it must give to each global batch (batch_size "
                         f"{batch_size} / {n_streams} streams); use a smaller batch_size "
                         "or fewer streams")
    dropped = sum(sizes) - steps * batch_size
    return EpochPlan(epoch=epoch, streams=streams, micro=micro, steps=steps, dropped=dropped)


def rank_streams(n_streams: int, rank: int, world_size: int) -> range:
    """Streams run by ``rank`` of ``world_size``: a contiguous block of ``S / W``.

    Raises
    ------
    ValueError
        ``n_streams`` is not a multiple of ``world_size``.
    """
    if n_streams % world_size:
        raise ValueError(f"data.streams ({n_streams}) must be a multiple of the number of "
                         f"ranks ({world_size}); set streams to a multiple of {world_size}")
    per = n_streams // world_size
    return range(rank * per, (rank + 1) * per)


def iter_stream(samples: ChunkedSamples, plan: EpochPlan, stream: int, *, seed: int,
                shuffle_chunks: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The ``plan.steps`` micro-batches ``(x, y, idx)`` of one stream, reading its chunks
    ``shuffle_chunks`` at a time."""
    chunks = plan.streams[stream]
    m = plan.micro
    bx = np.empty((0, samples.n_in), samples.dtype)
    by = np.empty((0, samples.n_out), samples.dtype)
    bi = np.empty(0, np.int64)
    given = 0
    for w, start in enumerate(range(0, len(chunks), shuffle_chunks)):
        x, y, idx = samples.read(chunks[start:start + shuffle_chunks])
        if len(bi):
            x, y, idx = (np.concatenate([bx, x]), np.concatenate([by, y]),
                         np.concatenate([bi, idx]))
        order = np.random.default_rng([seed, plan.epoch, stream, w]).permutation(len(idx))
        x, y, idx = x[order], y[order], idx[order]
        n_full = len(idx) // m
        for b in range(n_full):
            yield x[b * m:(b + 1) * m], y[b * m:(b + 1) * m], idx[b * m:(b + 1) * m]
            given += 1
            if given == plan.steps:
                return
        # copies, so the window itself is freed once its micro-batches are used
        bx, by, bi = x[n_full * m:].copy(), y[n_full * m:].copy(), idx[n_full * m:].copy()
    if given != plan.steps:  # cannot happen: plan.steps is what the smallest stream holds
        raise RuntimeError(f"stream {stream} gave {given} micro-batches, {plan.steps} planned")


def iter_local_batches(samples: ChunkedSamples, plan: EpochPlan, *, rank: int,
                       world_size: int, seed: int, shuffle_chunks: int,
                       ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """This rank's share of every global batch of the epoch: ``plan.steps`` tuples
    ``(x, y, idx)`` of ``batch_size / world_size`` samples (its streams' micro-batches,
    in stream order)."""
    its = [iter_stream(samples, plan, s, seed=seed, shuffle_chunks=shuffle_chunks)
           for s in rank_streams(plan.n_streams, rank, world_size)]
    for _ in range(plan.steps):
        parts = [next(it) for it in its]
        if len(parts) == 1:
            yield parts[0]
        else:
            yield tuple(np.concatenate(p) for p in zip(*parts, strict=True))


def validation_chunks(val_chunks: Sequence[int], rank: int, world_size: int) -> list[int]:
    """Positions (in ``val_chunks``) that ``rank`` evaluates: every ``world_size``-th."""
    return list(range(rank, len(val_chunks), world_size))
