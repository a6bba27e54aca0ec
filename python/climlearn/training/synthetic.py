"""A seeded synthetic column data set for tests and benchmarks of the training layer.

Columns on a latitude band carry a temperature profile ``T(time, lat, lev)`` (a
latitude-dependent equilibrium profile plus AR(1) anomalies in time, correlated in the
vertical) and a surface pressure ``ps(time, lat)``. The target is a relaxation-plus-
convection-like tendency ``dT = -(T - T_eq) / tau + c * tanh((ps - p0) / s) * w(lev)``
plus a little noise: smooth and nonlinear, so an MLP has something to learn.

The files it writes are CF NetCDF (one file per ``files`` slice of time) or one Zarr
store, chunked along time so they can be streamed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = ["make_columns", "write_netcdf_parts", "write_zarr"]


def make_columns(n_time: int = 240, n_lat: int = 8, n_lev: int = 10, seed: int = 0,
                 dtype: str = "float32", time_offset: int = 0) -> xr.Dataset:
    """The synthetic data set (in memory); see the module docstring.

    Parameters
    ----------
    n_time, n_lat, n_lev
        Sizes; samples are ``n_time * n_lat`` columns of ``n_lev`` levels.
    seed
        Seed of the anomalies and noise.
    dtype
        Storage dtype of the variables.
    time_offset
        First value of the time coordinate (hours), to build a long record in parts.
    """
    rng = np.random.default_rng(seed)
    lat = np.linspace(-60.0, 60.0, n_lat)
    sigma = (np.arange(n_lev) + 0.5) / n_lev
    t_eq = (300.0 - 40.0 * np.sin(np.deg2rad(lat)) ** 2)[:, None] * sigma[None, :] ** 0.19
    # anomalies: AR(1) in time (phi 0.9), smoothed in the vertical
    phi = 0.9
    white = rng.standard_normal((n_time, n_lat, n_lev))
    noise = 0.5 * white
    noise[..., 1:] += 0.25 * white[..., :-1]
    noise[..., :-1] += 0.25 * white[..., 1:]
    anom = np.empty_like(noise)
    anom[0] = noise[0] / np.sqrt(1 - phi ** 2)
    for t in range(1, n_time):
        anom[t] = phi * anom[t - 1] + noise[t]
    temp = t_eq[None] + 2.0 * anom
    ps = 1.0e5 + 800.0 * rng.standard_normal((n_time, n_lat)) \
        + 500.0 * np.cos(np.deg2rad(lat))[None, :]
    weight = np.sin(np.pi * sigma)
    dtemp = (-(temp - t_eq[None]) / 4.0
             + 1.5 * np.tanh((ps[..., None] - 1.0e5) / 600.0) * weight
             + 0.05 * rng.standard_normal(temp.shape))
    coords = {
        "time": ("time", time_offset + np.arange(n_time, dtype=np.float64),
                 {"units": "hours since 2000-01-01", "long_name": "time", "axis": "T"}),
        "lat": ("lat", lat, {"units": "degrees_north", "long_name": "latitude",
                             "standard_name": "latitude"}),
        "lev": ("lev", sigma, {"units": "1", "long_name": "sigma level",
                               "positive": "down"}),
    }
    data = {
        "T": (("time", "lat", "lev"), temp.astype(dtype),
              {"units": "K", "long_name": "air temperature", "standard_name":
               "air_temperature"}),
        "ps": (("time", "lat"), ps.astype(dtype),
               {"units": "Pa", "long_name": "surface pressure",
                "standard_name": "surface_air_pressure"}),
        "dT": (("time", "lat", "lev"), dtemp.astype(dtype),
               {"units": "K day-1", "long_name": "temperature tendency of the scheme"}),
    }
    return xr.Dataset(data, coords=coords, attrs={
        "title": "climlearn synthetic columns for the training layer", "seed": seed,
        "Conventions": "CF-1.10"})


def _encoding(ds: xr.Dataset, chunk_time: int, key: str) -> dict:
    enc = {}
    for name, var in ds.data_vars.items():
        enc[name] = {key: tuple(min(chunk_time, var.sizes[d]) if d == "time"
                                else var.sizes[d] for d in var.dims)}
    return enc


def write_netcdf_parts(ds: xr.Dataset, folder: str | os.PathLike, *, files: int = 2,
                       chunk_time: int = 16, prefix: str = "part") -> list[Path]:
    """Write ``ds`` as ``files`` NetCDF files split along time, chunked ``chunk_time``
    steps along time; each file written to a temporary name, then renamed."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, ds.sizes["time"], files + 1).astype(int)
    paths = []
    for k in range(files):
        part = ds.isel(time=slice(bounds[k], bounds[k + 1]))
        path = folder / f"{prefix}_{k:03d}.nc"
        tmp = path.with_name(f".{path.name}.partial")
        part.to_netcdf(tmp, engine="netcdf4",
                       encoding=_encoding(part, chunk_time, "chunksizes"))
        os.replace(tmp, path)
        paths.append(path)
    return paths


def write_zarr(ds: xr.Dataset, path: str | os.PathLike, *, chunk_time: int = 16) -> Path:
    """Write ``ds`` as one Zarr store chunked ``chunk_time`` steps along time (to a
    temporary folder, then renamed)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    ds.to_zarr(tmp, mode="w", consolidated=False,
               encoding=_encoding(ds, chunk_time, "chunks"))
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
    return path
