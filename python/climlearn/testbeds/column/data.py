"""Training data for the convection emulator: reference runs of the column host, as CF
NetCDF through xarray.

The host (Fortran module ``column_physics``, through :func:`.physics.run`) is spun up, then
sampled every ``every`` steps. A dataset holds the inputs the convection scheme saw and its
outputs:

- ``ta(time, lat, lev)``, ``hus(time, lat, lev)``: temperature (K) and specific humidity
  (kg kg-1) given to ``convection_reference``;
- ``tnta_conv(time, lat, lev)``, ``tnhus_conv(time, lat, lev)``: its tendencies
  (K s-1, kg kg-1 s-1);
- ``pr(time, lat)``: the total surface precipitation of the step (kg m-2 s-1);
- ``ps`` (Pa, constant surface pressure), coordinates ``lat`` (degrees_north), ``lev``
  (sigma at full levels, level 0 the lowest), ``time`` (days after the spin-up);

with the grid and run parameters in the global attributes.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import numbers
import os
from typing import Any

import numpy as np
import xarray as xr

from ..lorenz96.data import write_netcdf
from .physics import ColumnGrid, initial_state, run

__all__ = ["augment", "generate_reference", "write_netcdf"]

log = logging.getLogger(__name__)


def _steps(name: str, days: Any, dtime: float) -> int:
    if (not isinstance(days, numbers.Real) or isinstance(days, bool)
            or not math.isfinite(days) or days < 0):
        raise ValueError(f"{name} must be a finite number of days >= 0, given {days!r}")
    return int(round(days * 86400.0 / dtime))


def generate_reference(grid: ColumnGrid | None = None, dtime: float = 1800.0,
                       spinup_days: float = 100.0, length_days: float = 30.0,
                       every: int = 6, tau_evap: float = 86400.0,
                       out: str | os.PathLike | None = None) -> xr.Dataset:
    """Run the reference host and return (and optionally write) the training dataset.

    Parameters
    ----------
    grid
        The columns and levels (default ``ColumnGrid()``: 16 columns 0-60 N, 20 levels).
    dtime
        Physics time step, s.
    spinup_days, length_days
        Spin-up discarded, then the sampled period, in days.
    every
        Sampling interval in steps (>= 1).
    tau_evap
        Surface evaporation time scale, s.
    out
        If given, the NetCDF file written atomically.
    """
    grid = grid if grid is not None else ColumnGrid()
    if not isinstance(grid, ColumnGrid):
        raise ValueError(f"grid must be a ColumnGrid, given {type(grid).__name__}")
    if not isinstance(dtime, numbers.Real) or not math.isfinite(dtime) or dtime <= 0:
        raise ValueError(f"dtime must be a positive number of seconds, given {dtime!r}")
    nspin = _steps("spinup_days", spinup_days, dtime)
    nrun = _steps("length_days", length_days, dtime)
    if not isinstance(every, numbers.Integral) or isinstance(every, bool) or every < 1:
        raise ValueError(f"every must be an integer >= 1, given {every!r}")
    if nrun // every < 1:
        raise ValueError(f"length_days={length_days} gives no sample with every={every} "
                         f"steps of {dtime} s")
    t0, q0 = initial_state(grid)
    log.info("column host: spin-up %d steps, then %d steps", nspin, nrun)
    spin = run(t0, q0, grid, dtime, nspin, every=max(nspin, 1), tau_evap=tau_evap)
    res = run(spin["t_final"], spin["q_final"], grid, dtime, nrun, every=every,
              tau_evap=tau_evap)
    nout = res["t"].shape[0]
    time = (np.arange(1, nout + 1) * every * dtime) / 86400.0
    dims3 = ("time", "lat", "lev")

    def var(data: np.ndarray, dims: tuple[str, ...], units: str, long_name: str,
            standard_name: str | None = None) -> xr.Variable:
        attrs = {"units": units, "long_name": long_name}
        if standard_name:
            attrs["standard_name"] = standard_name
        return xr.Variable(dims, data, attrs)

    ds = xr.Dataset(
        {
            "ta": var(res["t"], dims3, "K", "air temperature given to the convection scheme",
                      "air_temperature"),
            "hus": var(res["q"], dims3, "kg kg-1",
                       "specific humidity given to the convection scheme",
                       "specific_humidity"),
            "tnta_conv": var(res["dtdt"], dims3, "K s-1",
                             "temperature tendency due to convection",
                             "tendency_of_air_temperature_due_to_convection"),
            "tnhus_conv": var(res["dqdt"], dims3, "kg kg-1 s-1",
                              "specific humidity tendency due to convection",
                              "tendency_of_specific_humidity_due_to_convection"),
            "pr": var(res["precip"], ("time", "lat"), "kg m-2 s-1",
                      "surface precipitation rate (convective + large-scale)",
                      "precipitation_flux"),
            "ps": var(np.full(grid.klon, grid.ps), ("lat",), "Pa", "surface pressure",
                      "surface_air_pressure"),
        },
        coords={
            "time": ("time", time, {"units": "days", "long_name": "time after spin-up"}),
            "lat": ("lat", grid.lat, {"units": "degrees_north", "long_name": "latitude",
                                      "standard_name": "latitude"}),
            "lev": ("lev", grid.sigma, {"units": "1", "long_name": "sigma at full levels",
                                        "standard_name": "atmosphere_sigma_coordinate",
                                        "positive": "down",
                                        "formula_terms": "sigma: lev ps: ps ptop: ptop"}),
            "ptop": ((), 0.0, {"units": "Pa", "long_name": "pressure at the model top"}),
        },
        attrs={
            "Conventions": "CF-1.8",
            "title": "climlearn column host reference run (convection training data)",
            "source": "climlearn fortran/hosts/atmosphere/column_physics.f90",
            "history": f"{_dt.datetime.now(_dt.UTC).isoformat()} generated",
            "klon": grid.klon, "klev": grid.klev, "lat_min": grid.lat_min,
            "lat_max": grid.lat_max, "ps_Pa": grid.ps, "dtime_s": float(dtime),
            "spinup_days": float(spinup_days), "length_days": float(length_days),
            "every_steps": int(every), "tau_evap_s": float(tau_evap),
            "convection": "simplified Betts-Miller (Frierson 2007), tau 7200 s, RHbm 0.7",
            "forcing": "Held-Suarez 1994 relaxation (ka 1/40 d, ks 1/4 d, dy 60 K, "
                       "dz 10 K, sigma_b 0.7)",
            "vertical_ordering": "lev index 0 is the lowest layer",
        },
    )
    if out is not None:
        path = write_netcdf(ds, out)
        log.info("wrote %s", path)
    return ds


def augment(ds: xr.Dataset, grid: ColumnGrid, copies: int = 1, t_sigma: float = 1.0,
            q_sigma: float = 0.1, seed: int = 0) -> xr.Dataset:
    """Off-attractor training samples: perturbed reference states and the reference
    convection tendencies computed for them (Fortran ``convection_reference``).

    In statistical equilibrium the reference run hovers at the convective threshold
    (quasi-equilibrium), so its samples say little about how convection responds to
    departures from it; an emulator trained on them alone drifts online. Each copy adds
    to every sampled state a temperature perturbation N(0, t_sigma) K, smooth in the
    vertical (a random combination of the first two sine modes plus a level-1 term), and a
    relative humidity perturbation exp(N(0, q_sigma)), then recomputes the tendencies.

    Returns a dataset with the variables ``ta``, ``hus``, ``tnta_conv``, ``tnhus_conv``
    on dimensions (time, lat, lev), ``time`` renumbered.
    """
    from .physics import convection

    if copies < 0:
        raise ValueError(f"copies must be >= 0, given {copies}")
    rng = np.random.default_rng(seed)
    dtime = float(ds.attrs["dtime_s"])
    klev = grid.klev
    zeta = (np.arange(klev) + 0.5) / klev
    modes = np.stack([np.sin(np.pi * zeta), np.sin(2 * np.pi * zeta),
                      (np.arange(klev) == 0).astype(float)])
    ta0 = ds["ta"].values
    hus0 = ds["hus"].values
    out = {k: [] for k in ("ta", "hus", "tnta_conv", "tnhus_conv")}
    for _ in range(copies):
        for n in range(ta0.shape[0]):
            coef = rng.normal(0.0, t_sigma, (grid.klon, 3))
            t = ta0[n] + coef @ modes
            q = hus0[n] * np.exp(rng.normal(0.0, q_sigma, (grid.klon, 1))
                                 + rng.normal(0.0, q_sigma / 2, (grid.klon, klev)))
            dtdt, dqdt, _ = convection(t, q, grid, dtime)
            for k, v in (("ta", t), ("hus", q), ("tnta_conv", dtdt), ("tnhus_conv", dqdt)):
                out[k].append(v)
    dims = ("time", "lat", "lev")
    return xr.Dataset({k: (dims, np.array(v).reshape(-1, grid.klon, klev))
                       for k, v in out.items()},
                      coords={"lat": ds["lat"].values, "lev": ds["lev"].values})
