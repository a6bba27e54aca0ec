"""Synthetic cloudy stacks of sea-surface-temperature maps with known truth."""

from __future__ import annotations

import numpy as np
import xarray as xr

from climlearn.fields.synthetic import apply_mask, cloud_mask, sst_sequence

__all__ = ["cloudy_sst", "check_stack"]


def cloudy_sst(ntime: int = 48, ny: int = 48, nx: int = 48, cover: float = 0.6,
               flow: str = "cellular", speed: float = 0.5, seed: int = 0) -> xr.Dataset:
    """A stack of SST maps advected by a known flow, observed through clouds.

    The truth is :func:`climlearn.fields.synthetic.sst_sequence` (a smooth power-law
    field carried by ``flow``); the clouds are
    :func:`climlearn.fields.synthetic.cloud_mask` (spatially correlated, persistent).

    Parameters
    ----------
    ntime, ny, nx
        Sizes.
    cover
        Mean cloud-cover fraction; each map draws its own fraction uniformly in
        ``[cover - 0.15, cover + 0.15]`` (clipped to ``[0, 0.95]``) so that no map is
        entirely missing.
    flow, speed
        Motion of the SST features (see :func:`climlearn.fields.synthetic.velocity_field`).
    seed
        Seed of the field and of the clouds.

    Returns
    -------
    xarray.Dataset
        ``truth`` and ``obs`` (NaN under clouds), both ``(time, y, x)`` in K, and the
        boolean ``cloud`` mask.
    """
    if not 0.0 <= cover < 1.0:
        raise ValueError(f"cover must lie in [0, 1), got {cover}")
    rng = np.random.default_rng(seed + 7919)
    covers = np.clip(cover + rng.uniform(-0.15, 0.15, ntime), 0.0, 0.95)
    truth = sst_sequence(ntime, ny, nx, flow=flow, speed=speed, seed=seed)["sst"]
    clouds = cloud_mask(ntime, ny, nx, cover=covers, seed=seed + 1)
    obs = apply_mask(truth, clouds)
    obs.name = "sst_obs"
    obs.attrs["long_name"] = "observed sea surface temperature (NaN under clouds)"
    ds = xr.Dataset({"truth": truth, "obs": obs, "cloud": clouds})
    ds.attrs = {"cover": float(cover), "flow": flow, "speed": float(speed), "seed": int(seed)}
    return ds


def check_stack(data: xr.DataArray, what: str = "data",
                allow_empty_maps: bool = False) -> xr.DataArray:
    """Validate a ``(time, y, x)`` stack with NaN gaps and return it in that dim order.

    Raises
    ------
    TypeError
        Not an ``xarray.DataArray``.
    ValueError
        Wrong dims, fewer than 2 maps, infinite values, no observed pixel at all, or (unless
        ``allow_empty_maps``) a map without any observed pixel.
    """
    if not isinstance(data, xr.DataArray):
        raise TypeError(f"{what} must be an xarray.DataArray with dims (time, y, x), "
                        f"got {type(data).__name__}")
    if set(data.dims) != {"time", "y", "x"}:
        raise ValueError(f"{what} must have dims ('time', 'y', 'x'), got {data.dims}")
    data = data.transpose("time", "y", "x")
    if data.sizes["time"] < 2:
        raise ValueError(f"{what} needs at least 2 maps, got {data.sizes['time']}")
    vals = np.asarray(data.values, dtype=float)
    if np.isinf(vals).any():
        raise ValueError(f"{what} holds infinite values; mark missing pixels with NaN")
    seen = np.isfinite(vals)
    if not seen.any():
        raise ValueError(f"{what} has no observed pixel (all NaN)")
    empty = np.flatnonzero(~seen.any(axis=(1, 2)))
    if empty.size and not allow_empty_maps:
        raise ValueError(f"{what}: {empty.size} map(s) have no observed pixel (all NaN), "
                         f"time indices {empty[:10].tolist()}; drop them first")
    return data
