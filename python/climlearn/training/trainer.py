"""``fit(config)``: stream the data, train data-parallel when under torchrun, export.

One process::

    climlearn train --config train.yaml

Two processes on this machine (DDP over gloo; same model to round-off)::

    torchrun --nproc-per-node 2 -m climlearn train --config train.yaml

The run folder (``output.dir``) receives ``checkpoint_best.pt`` (kept whenever the
validation loss improves), ``checkpoint_last.pt``, ``normalisation.json``,
``training.json`` (config, data layout, history, throughput) and the exported TorchScript
model (``output.model_file``, by :func:`climlearn.export.to_torchscript`, with its
normalisation and model card). Rank 0 writes every file, each atomically.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch import nn
from tqdm.auto import tqdm

from ._io import atomic_torch_save, atomic_write_text
from .config import TrainConfig, load_train_config
from .data import ChunkedSamples, open_dataset
from .distributed import DistContext, init_from_env
from .sampler import iter_local_batches, plan_epoch, rank_streams, split_chunks
from .stats import FeatureStats, feature_stats

log = logging.getLogger(__name__)

__all__ = ["fit", "make_optimiser", "open_samples", "SUMMARY_NAME", "BEST_NAME", "LAST_NAME",
           "STATS_NAME"]

SUMMARY_NAME = "training.json"
BEST_NAME = "checkpoint_best.pt"
LAST_NAME = "checkpoint_last.pt"
STATS_NAME = "normalisation.json"

_OPTIMISERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "adam": lambda p, lr, wd: torch.optim.Adam(p, lr=lr, weight_decay=wd),
    "adamw": lambda p, lr, wd: torch.optim.AdamW(p, lr=lr, weight_decay=wd),
    "sgd": lambda p, lr, wd: torch.optim.SGD(p, lr=lr, momentum=0.9, weight_decay=wd),
}
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def make_optimiser(name: str, params: Iterable[nn.Parameter], lr: float,
                   weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """Optimiser ``name`` (adam, adamw, or sgd with momentum 0.9); ValueError listing the
    valid names otherwise."""
    try:
        factory = _OPTIMISERS[name]
    except KeyError:
        raise ValueError(f"unknown optimiser {name!r}; valid names are: "
                         f"{', '.join(sorted(_OPTIMISERS))}") from None
    return factory(params, lr, weight_decay)


def open_samples(config: TrainConfig, dataset: xr.Dataset | None = None) -> ChunkedSamples:
    """The :class:`ChunkedSamples` of a config: its files opened lazily (or ``dataset``,
    used as given), loaded into memory if ``data.in_memory``."""
    d = config.data
    if dataset is None:
        dataset = open_dataset(d.paths, sample_dims=d.sample_dims, chunk_size=d.chunk_size,
                               fmt=d.format, base_dir=config.base_dir)
    samples = ChunkedSamples(dataset, d.sample_dims, d.inputs, d.outputs,
                             chunk_size=d.chunk_size,
                             dtype=np.dtype(config.training.dtype))
    return samples.load() if d.in_memory else samples


class _Normaliser:
    """Standardise numpy batches into torch tensors of the training dtype."""

    def __init__(self, stats: FeatureStats, dtype: torch.dtype) -> None:
        self.xm = torch.as_tensor(stats.x_mean, dtype=dtype)
        self.xs = torch.as_tensor(stats.x_std, dtype=dtype)
        self.ym = torch.as_tensor(stats.y_mean, dtype=dtype)
        self.ys = torch.as_tensor(stats.y_std, dtype=dtype)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return ((torch.from_numpy(x) - self.xm) / self.xs,
                (torch.from_numpy(y) - self.ym) / self.ys)


def _validation_loss(model: nn.Module, samples: ChunkedSamples, val_chunks: np.ndarray,
                     norm: _Normaliser, ctx: DistContext) -> float:
    """Mean squared error (standardised units) over the validation chunks. Each rank
    evaluates every ``world_size``-th chunk; the per-chunk sums are added in chunk order,
    so the result does not depend on the number of ranks."""
    if len(val_chunks) == 0:
        return math.nan
    sse = np.zeros(len(val_chunks))
    model.eval()
    with torch.no_grad():
        for pos in range(ctx.rank, len(val_chunks), ctx.world_size):
            x, y, _ = samples.read([int(val_chunks[pos])])
            xn, yn = norm(x, y)
            d = (model(xn) - yn).double()
            sse[pos] = float(torch.sum(d * d))
    model.train()
    sse = ctx.sum(sse)
    n = int(sum(samples.chunk_samples(int(c)) for c in val_chunks)) * samples.n_out
    return float(np.sum(sse)) / n


def _checkpoint(model: nn.Module, opt: torch.optim.Optimizer, epoch: int, val_loss: float,
                stats: FeatureStats, config: TrainConfig) -> dict[str, Any]:
    return {"epoch": epoch, "val_loss": val_loss, "model": model.state_dict(),
            "optimiser": opt.state_dict(), "normalisation": stats.as_dict(),
            "config": config.to_dict()}


def _export(model: nn.Module, samples: ChunkedSamples, stats: FeatureStats,
            config: TrainConfig, summary: dict[str, Any], path: Path) -> Path:
    from ..export import checksum, to_torchscript

    x, _, _ = samples.read([0])
    example = torch.from_numpy(np.ascontiguousarray(x[:64]))

    def units(layouts) -> str:
        found = {v.units for v in layouts}
        return found.pop() if len(found) == 1 else "1"

    def describe(layouts) -> str:
        return "concatenation of " + ", ".join(
            f"{v.name}{list(v.feature_shape)}" for v in layouts)

    comps_in = [v.as_dict() for v in samples.inputs]
    comps_out = [v.as_dict() for v in samples.outputs]
    return to_torchscript(
        model, path, example_inputs=example, input_names=["x"], output_names=["y"],
        units={"x": units(samples.inputs), "y": units(samples.outputs)},
        long_names={"x": describe(samples.inputs), "y": describe(samples.outputs)},
        normalisation={"x": (stats.x_mean, stats.x_std), "y": (stats.y_mean, stats.y_std)},
        io_attributes={"x": {"components": comps_in}, "y": {"components": comps_out}},
        seed=config.seed,
        training_data={
            "paths": list(config.data.paths), "format": config.data.format,
            "sample_dims": list(samples.sample_dims), "n_samples": samples.n_samples,
            "n_train_samples": stats.n_samples,
            "statistics_checksum": checksum(stats.x_mean, stats.x_std, stats.y_mean,
                                            stats.y_std),
        },
        metrics={"best_val_loss": summary["best_val_loss"],
                 "best_epoch": summary["best_epoch"]},
        metadata={"trainer": "climlearn.training.fit", "world_size": summary["world_size"],
                  "streams": config.data.streams, "batch_size": config.training.batch_size,
                  "model": config.model.name, "model_options": config.model.options},
    )


def fit(config: TrainConfig | str | os.PathLike, *, dataset: xr.Dataset | None = None,
        progress: bool | None = None) -> dict[str, Any]:
    """Train the model of ``config`` on its data and export it.

    Under ``torchrun`` (``WORLD_SIZE > 1``) every rank calls this: the model is wrapped in
    :class:`torch.nn.parallel.DistributedDataParallel` over gloo, each rank reads only its
    streams' chunks, and gradients are averaged. The global batch order is the same for
    any number of ranks (:mod:`.sampler`), so the trained weights agree with a
    single-process run to round-off.

    Parameters
    ----------
    config
        A :class:`TrainConfig` or the path of a YAML config.
    dataset
        Use this (lazy or in-memory) dataset instead of opening ``data.paths``.
    progress
        Override ``training.progress`` (the tqdm bar, rank 0 only, only on a terminal).

    Returns
    -------
    dict
        The summary written to ``training.json``: ``model_path``, ``best_epoch`` (0: the
        initial weights were never beaten), ``best_val_loss``, ``history`` (per-epoch
        ``train`` and ``val`` MSE in standardised units), ``world_size``, ``steps``,
        ``samples_per_second`` (global samples per second of training steps), ...

    Raises
    ------
    FileNotFoundError, ValueError
        Missing config or data, invalid config, data that do not match it, non-finite
        data.
    """
    if not isinstance(config, TrainConfig):
        config = load_train_config(config)
    ctx = init_from_env()
    try:
        return _fit(config, ctx, dataset, progress)
    finally:
        ctx.close()


def _fit(config: TrainConfig, ctx: DistContext, dataset: xr.Dataset | None,
         progress: bool | None) -> dict[str, Any]:
    start = time.perf_counter()
    tc, dc = config.training, config.data
    rank_streams(dc.streams, ctx.rank, ctx.world_size)  # fails early if not divisible
    if tc.threads is not None:
        torch.set_num_threads(tc.threads)
    dtype = _DTYPES[tc.dtype]
    out_dir = config.out_dir
    samples = open_samples(config, dataset)
    train_chunks, val_chunks = split_chunks(samples.n_chunks, dc.validation_fraction)
    lengths = samples.chunk_lengths()
    plans = [plan_epoch(train_chunks, lengths, n_streams=dc.streams,
                        batch_size=tc.batch_size, seed=config.seed, epoch=e)
             for e in range(tc.epochs)]

    stop_step = samples.chunk_steps(int(train_chunks[-1]))[1]
    t0 = time.perf_counter()
    stats = ctx.broadcast_object(feature_stats(samples, stop_step) if ctx.is_main else None)
    stats_seconds = time.perf_counter() - t0
    norm = _Normaliser(stats, dtype)

    torch.manual_seed(config.seed)
    from ..models import get_model

    try:
        model = get_model(config.model.name, n_in=samples.n_in, n_out=samples.n_out,
                          **config.model.options)
    except TypeError as exc:
        raise ValueError(f"{config.source}: model {config.model.name!r} does not accept "
                         f"options {config.model.options}: {exc}") from exc
    model = model.to(dtype)
    net: nn.Module = model
    if ctx.distributed:
        net = nn.parallel.DistributedDataParallel(model)
    opt = make_optimiser(tc.optimiser, model.parameters(), tc.lr, tc.weight_decay)
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=tc.epochs)
             if tc.schedule == "cosine" else None)

    if ctx.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        stats.save(out_dir / STATS_NAME)
    best = _validation_loss(model, samples, val_chunks, norm, ctx)
    best_epoch, wait, stopped_early = 0, 0, False
    best_state = copy.deepcopy(model.state_dict())
    history: dict[str, list[float]] = {"train": [], "val": []}
    show = (tc.progress if progress is None else progress) and ctx.is_main
    bar = tqdm(total=sum(p.steps for p in plans), desc="training", unit="batch",
               disable=None if show else True, leave=False)
    train_seconds = read_seconds = 0.0
    steps_done = 0
    for epoch in range(1, tc.epochs + 1):
        plan = plans[epoch - 1]
        local = np.zeros(2)
        net.train()
        t_epoch = time.perf_counter()
        batches = iter_local_batches(samples, plan, rank=ctx.rank, world_size=ctx.world_size,
                                     seed=config.seed, shuffle_chunks=dc.shuffle_chunks)
        while True:
            t_read = time.perf_counter()
            try:
                x, y, _ = next(batches)
            except StopIteration:
                break
            read_seconds += time.perf_counter() - t_read
            xb, yb = norm(x, y)
            loss = torch.mean((net(xb) - yb) ** 2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            local += (float(loss.detach()) * len(yb), len(yb))
            steps_done += 1
            bar.update()
        train_seconds += time.perf_counter() - t_epoch
        if sched is not None:
            sched.step()
        total = ctx.sum(local)
        train_loss = float(total[0] / total[1])
        val_loss = _validation_loss(model, samples, val_chunks, norm, ctx)
        history["train"].append(train_loss)
        history["val"].append(val_loss)
        score = val_loss if len(val_chunks) else train_loss
        bar.set_postfix(epoch=epoch, train=f"{train_loss:.3e}", val=f"{val_loss:.3e}")
        log.info("epoch %d: train %.4e, validation %.4e (%d steps, %d samples dropped)",
                 epoch, train_loss, val_loss, plan.steps, plan.dropped)
        if ctx.is_main:
            atomic_torch_save(_checkpoint(model, opt, epoch, val_loss, stats, config),
                              out_dir / LAST_NAME)
        if not math.isfinite(train_loss):
            log.warning("training loss is %s at epoch %d; stopping", train_loss, epoch)
            stopped_early = True
            break
        if score < best or (epoch == 1 and not math.isfinite(best)):
            best, best_epoch, wait = score, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
            if ctx.is_main:
                atomic_torch_save(_checkpoint(model, opt, epoch, val_loss, stats, config),
                                  out_dir / BEST_NAME)
        else:
            wait += 1
            if wait >= tc.patience:
                stopped_early = True
                log.info("no better loss for %d epochs; stopping at epoch %d (best %d)",
                         wait, epoch, best_epoch)
                break
    bar.close()
    model.load_state_dict(best_state)
    model.eval()
    n_seen = steps_done * tc.batch_size
    summary: dict[str, Any] = {
        "config": config.to_dict(),
        "data": samples.describe(),
        "train_chunks": len(train_chunks), "validation_chunks": len(val_chunks),
        "world_size": ctx.world_size,
        "streams_per_rank": dc.streams // ctx.world_size,
        "epochs_run": len(history["train"]), "best_epoch": best_epoch,
        "best_val_loss": best, "stopped_early": stopped_early, "history": history,
        "steps": steps_done, "samples_seen": n_seen,
        "samples_per_second": n_seen / train_seconds if train_seconds > 0 else math.nan,
        "train_seconds": train_seconds, "read_seconds_rank0": read_seconds,
        "statistics_seconds": stats_seconds,
        "model_path": str(out_dir / config.output.model_file),
    }
    if ctx.is_main:
        if best_epoch == 0:
            log.warning("the initial weights were never beaten; exporting them")
        _export(model, samples, stats, config, summary, out_dir / config.output.model_file)
        summary["seconds"] = time.perf_counter() - start
        atomic_write_text(out_dir / SUMMARY_NAME, json.dumps(summary, indent=1))
        log.info("trained in %.1f s (%.0f samples/s over %d rank(s)); exported %s",
                 summary["seconds"], summary["samples_per_second"], ctx.world_size,
                 summary["model_path"])
    ctx.barrier()
    return summary
