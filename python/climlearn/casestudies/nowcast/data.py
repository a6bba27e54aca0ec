"""Synthetic nowcasting data: rain cells and suspended matter with clouds."""

from __future__ import annotations

import numpy as np
import xarray as xr

from climlearn.casestudies.sst.data import random_flow
from climlearn.fields import synthetic

__all__ = ["rain_dataset", "tsm_dataset"]


def _stack(parts: list[xr.Dataset], kinds: list[str]) -> xr.Dataset:
    for p, k in zip(parts, kinds, strict=True):
        p.attrs = {}
        p["flow"] = k
    out = xr.concat(parts, dim="sample")
    return out


def rain_dataset(n_sequences: int, ntime: int = 14, size: int = 48, n_cells: int = 10,
                 flows: tuple[str, ...] = ("translation", "translation", "rotation"),
                 seed: int = 0) -> xr.Dataset:
    """Radar-like rain-rate sequences (5-min steps) moving with random flows.

    Returns
    -------
    xarray.Dataset
        ``rain_rate`` ``(sample, time, y, x)`` in mm/h, true motion ``u``, ``v``
        ``(sample, y, x)`` and ``flow`` ``(sample,)``.
    """
    if n_sequences < 1:
        raise ValueError(f"n_sequences must be >= 1, got {n_sequences}")
    rng = np.random.default_rng(seed)
    parts, kinds = [], []
    for i in range(n_sequences):
        kind = flows[i % len(flows)]
        params = random_flow(kind, rng)
        parts.append(synthetic.rain_cells(ntime, size, size, n_cells=n_cells, flow=kind,
                                          seed=int(rng.integers(2 ** 31)), **params))
        kinds.append(kind)
    out = _stack(parts, kinds)
    out["rain_rate"].attrs = parts[0]["rain_rate"].attrs
    return out


def tsm_dataset(n_sequences: int, ntime: int = 10, size: int = 32, cover: float = 0.3,
                flows: tuple[str, ...] = ("translation", "rotation", "cellular"),
                seed: int = 0) -> xr.Dataset:
    """Suspended-matter sequences with clouds (NaN) and their complete truth.

    ``cover`` is the mean cloud cover; each map draws its own cover in
    ``[0.5 cover, 1.5 cover]``.

    Returns
    -------
    xarray.Dataset
        ``tsm`` (observed), ``tsm_true``, ``cloud`` ``(sample, time, y, x)``, true motion
        ``u``, ``v`` and ``flow``.
    """
    if n_sequences < 1:
        raise ValueError(f"n_sequences must be >= 1, got {n_sequences}")
    if not 0 <= cover < 0.67:
        raise ValueError(f"cover must lie in [0, 0.67), got {cover}")
    rng = np.random.default_rng(seed)
    parts, kinds = [], []
    for i in range(n_sequences):
        kind = flows[i % len(flows)]
        params = random_flow(kind, rng)
        covers = rng.uniform(0.5 * cover, 1.5 * cover, ntime)
        parts.append(synthetic.suspended_matter(ntime, size, size, flow=kind, cover=covers,
                                                seed=int(rng.integers(2 ** 31)), **params))
        kinds.append(kind)
    out = _stack(parts, kinds)
    for v in ("tsm", "tsm_true", "cloud"):
        out[v].attrs = parts[0][v].attrs
    return out
