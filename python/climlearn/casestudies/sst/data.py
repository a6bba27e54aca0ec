"""Synthetic SST training and test sequences with known motion."""

from __future__ import annotations

import numpy as np
import xarray as xr

from climlearn.fields import synthetic

__all__ = ["FLOW_KINDS", "random_flow", "sst_dataset"]

FLOW_KINDS = ("translation", "rotation", "cellular")


def random_flow(kind: str, rng: np.random.Generator) -> dict[str, float]:
    """Random parameters of a flow of ``kind`` (speeds 0.5-2 pixels per step)."""
    if kind == "translation":
        return {"speed": float(rng.uniform(0.5, 2.0)), "angle": float(rng.uniform(0, 360))}
    if kind == "rotation":
        return {"speed": float(rng.uniform(0.8, 2.0) * rng.choice([-1, 1]))}
    if kind == "cellular":
        return {"speed": float(rng.uniform(0.5, 1.5) * rng.choice([-1, 1])),
                "cells": float(rng.choice([1, 2]))}
    raise ValueError(f"unknown flow {kind!r}; valid names: {list(FLOW_KINDS)}")


def sst_dataset(n_sequences: int, ntime: int = 10, size: int = 32,
                flows: tuple[str, ...] = FLOW_KINDS, seed: int = 0) -> xr.Dataset:
    """Stack of SST sequences, each advected by a random flow of one of ``flows``.

    Returns
    -------
    xarray.Dataset
        ``sst`` ``(sample, time, y, x)`` in K, the true motion ``u``, ``v``
        ``(sample, y, x)`` and ``flow`` ``(sample,)``.
    """
    if n_sequences < 1:
        raise ValueError(f"n_sequences must be >= 1, got {n_sequences}")
    for f in flows:
        synthetic.get_flow(f)
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(n_sequences):
        kind = flows[i % len(flows)]
        params = random_flow(kind, rng)
        ds = synthetic.sst_sequence(ntime, size, size, flow=kind,
                                    seed=int(rng.integers(2 ** 31)), **params)
        ds.attrs = {}
        ds["flow"] = kind
        parts.append(ds)
    return xr.concat(parts, dim="sample")
