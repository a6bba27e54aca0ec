"""Training data of the mixing emulators: the reference basin run, to CF NetCDF.

The reference basin is integrated in Fortran (``oc_run``) from rest for ``spinup_days``,
then over ``train_days``, taking a snapshot every ``sample_every`` steps. Each snapshot
contributes every water column: the profiles the scheme sees (``thetao``, ``uo``,
``vo`` on the jpk T levels) and what it returns (``avt``, ``avm`` on the jpk-1 interior W
levels), computed by the Fortran ``mixing`` on that snapshot. Columns are stored in the
host's order (:func:`.physics.water_columns`), snapshot after snapshot, along one
``sample`` dimension.

The emulators learn log10 of the coefficients: they span 1e-5 to 10 m2 s-1, and the
logarithm makes the regression well-conditioned (errors are relative).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from . import physics
from .config import OceanConfig

log = logging.getLogger(__name__)

__all__ = ["generate", "write_netcdf", "read_netcdf", "INPUTS", "OUTPUTS"]

INPUTS = ("thetao", "uo", "vo")
"""Input profiles, in the order the emulators stack them."""
OUTPUTS = ("avt", "avm")
"""Output profiles, in the order the emulators stack them (as log10)."""


def generate(config: OceanConfig, *, progress: bool = True) -> tuple[xr.Dataset,
                                                                        dict[str, Any]]:
    """Run the reference basin and collect the training samples.

    Returns
    -------
    (xarray.Dataset, dict)
        The samples (see the module docstring) and the state at the end of the training
        period (``t``, ``u``, ``v`` (jpi, jpj, jpk), ``time`` in s), where the online
        comparison starts.
    """
    g = config.grid
    dt = config.dt
    state = physics.initial_state(g)
    nspin = config.steps(config.spinup_days)
    time = 0.0
    if nspin:
        state, _ = physics.run(g, state, time, dt, nspin)
        time = nspin * dt
    nsnap = config.steps(config.train_days) // config.sample_every
    ii, jj = physics.water_columns(g.mask)
    ncol = ii.size
    prof = {k: np.empty((nsnap, ncol, g.jpk)) for k in INPUTS}
    coef = {k: np.empty((nsnap, ncol, g.jpk - 1)) for k in OUTPUTS}
    times = np.empty(nsnap)
    for n in tqdm(range(nsnap), desc="reference run", disable=not progress, leave=False):
        state, _ = physics.run(g, state, time, dt, config.sample_every)
        time += config.sample_every * dt
        avt, avm = physics.mixing(g, state["t"], state["u"], state["v"])
        for k, src in zip(INPUTS, ("t", "u", "v"), strict=True):
            prof[k][n] = state[src][ii, jj]
        coef["avt"][n] = avt[ii, jj]
        coef["avm"][n] = avm[ii, jj]
        times[n] = time
    nsample = nsnap * ncol
    lat = g.lat
    attrs_in = {"thetao": ("degC", "sea_water_potential_temperature",
                           "temperature at T points"),
                "uo": ("m s-1", "sea_water_x_velocity", "zonal velocity at T points"),
                "vo": ("m s-1", "sea_water_y_velocity", "meridional velocity at T points")}
    attrs_out = {"avt": ("m2 s-1", "ocean_vertical_heat_diffusivity",
                         "vertical diffusivity (Pacanowski-Philander)"),
                 "avm": ("m2 s-1", "ocean_vertical_momentum_diffusivity",
                         "vertical viscosity (Pacanowski-Philander)")}
    data_vars = {}
    for k in INPUTS:
        units, std, long = attrs_in[k]
        data_vars[k] = (("sample", "depth"), prof[k].reshape(nsample, g.jpk),
                        {"units": units, "standard_name": std, "long_name": long})
    for k in OUTPUTS:
        units, std, long = attrs_out[k]
        data_vars[k] = (("sample", "depth_w"), coef[k].reshape(nsample, g.jpk - 1),
                        {"units": units, "standard_name": std, "long_name": long})
    ds = xr.Dataset(
        data_vars,
        coords={
            "depth": ("depth", g.gdept, {"units": "m", "positive": "down",
                                         "standard_name": "depth",
                                         "long_name": "depth of T points"}),
            "depth_w": ("depth_w", g.gdepw[1:-1], {"units": "m", "positive": "down",
                                                   "long_name": "depth of interior W points"}),
            "time": ("sample", np.repeat(times, ncol),
                     {"units": "seconds since 0001-01-01", "calendar": "360_day",
                      "long_name": "model time", "standard_name": "time"}),
            "i": ("sample", np.tile(ii, nsnap).astype(np.int32),
                  {"units": "1", "long_name": "zonal grid index (0-based)"}),
            "j": ("sample", np.tile(jj, nsnap).astype(np.int32),
                  {"units": "1", "long_name": "meridional grid index (0-based)"}),
            "lat": ("sample", np.tile(lat[jj], nsnap),
                    {"units": "degrees_north", "standard_name": "latitude"}),
        },
        attrs={"title": "climlearn ocean basin: Pacanowski-Philander mixing samples",
               "Conventions": "CF-1.8", "source": "climlearn fortran/hosts/ocean",
               "dt": dt, "seed": config.seed, "snapshots": nsnap, "water_columns": ncol,
               **{f"grid_{k}": v for k, v in g.as_dict().items()}},
    )
    end = {"t": state["t"], "u": state["u"], "v": state["v"], "time": time}
    log.info("reference run: %d snapshots x %d water columns", nsnap, ncol)
    return ds, end


def write_netcdf(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` to ``path`` atomically (temporary name, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        ds.to_netcdf(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """Read training samples written by :func:`write_netcdf`, checking the variables."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"training data not found: {path}")
    ds = xr.load_dataset(path)
    missing = [k for k in (*INPUTS, *OUTPUTS) if k not in ds]
    if missing:
        raise ValueError(f"{path}: missing variable(s) {missing}; expected "
                         f"{list(INPUTS + OUTPUTS)}")
    return ds
