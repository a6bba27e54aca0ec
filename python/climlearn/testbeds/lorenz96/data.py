"""Truth runs of the two-scale Lorenz 96 model, as CF NetCDF through xarray.

The truth is integrated by the Fortran module ``l96_physics`` (the code the coupled
Fortran program uses), through :func:`.physics.run_two_scale`. A dataset holds

- ``X(time, k)``: the large-scale variables;
- ``Y(time, k, j)``: the small-scale variables (``Y_{j,k}``), optional;
- ``U(time, k)``: the sub-grid tendency ``U_k = (h c / b) sum_j Y_{j,k}``;

with ``time`` in model time units (MTU) counted from the end of the spin-up, and the
parameters, seed, time step and sampling interval in the global attributes.

Standard data (REFERENCE section 2): 2000 MTU of training truth after spin-up, sampled
every 0.005 MTU with RK4 at dt = 0.001, and a separate test run with another seed
(:func:`standard_datasets`).
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import numbers
import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from .physics import L96Params, run_two_scale

__all__ = [
    "TEST_SEED_OFFSET", "STANDARD", "QUICK", "generate_truth", "initial_state", "load_truth",
    "standard_datasets", "write_netcdf",
]

log = logging.getLogger(__name__)

TEST_SEED_OFFSET = 1
"""The test run of :func:`standard_datasets` uses ``seed + TEST_SEED_OFFSET``."""

STANDARD = {"spinup_mtu": 20.0, "train_mtu": 2000.0, "test_mtu": 500.0}
"""Lengths (MTU) of the standard data sets."""
QUICK = {"spinup_mtu": 5.0, "train_mtu": 50.0, "test_mtu": 20.0}
"""Lengths (MTU) of the quick data sets (for tests and ``--quick`` pipelines)."""

_CHUNK_MTU = 5.0  # integrate in chunks of this length so the progress bar moves


def _steps(name: str, mtu: float, dt: float) -> int:
    """``mtu / dt`` as an integer, with an error if it is not (close to) one."""
    n = round(mtu / dt)
    if abs(n * dt - mtu) > 1e-9 * max(abs(mtu), dt):
        raise ValueError(f"{name} must be a whole multiple of {dt}, given {mtu}")
    return int(n)


def _real(name: str, value: Any, lo: float = 0.0, strict: bool = True) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(
            value):
        raise ValueError(f"{name} must be a finite number, given {value!r}")
    value = float(value)
    if value < lo or (strict and value == lo):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {lo}, given {value}")
    return value


def _seed(seed: Any) -> int:
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, given {seed!r}")
    return int(seed)


def initial_state(params: L96Params, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded initial state: ``X = F + N(0, 1)`` and ``Y = 0.1 N(0, 1)``.

    Parameters
    ----------
    params
        Model parameters.
    seed
        Non-negative integer seed (numpy ``default_rng``).

    Returns
    -------
    x0, y0
        Arrays of shapes ``(K,)`` and ``(K*J,)``.
    """
    rng = np.random.default_rng(_seed(seed))
    x0 = params.F + rng.standard_normal(params.K)
    y0 = 0.1 * rng.standard_normal(params.K * params.J)
    return x0, y0


def generate_truth(params: L96Params, seed: int, spinup_mtu: float, length_mtu: float,
                   dt: float = 0.001, sample_mtu: float = 0.005, *, store_y: bool = True,
                   y_dtype: str = "float64", progress: bool | None = None) -> xr.Dataset:
    """Integrate the two-scale model (Fortran RK4) and return the truth as a CF dataset.

    Parameters
    ----------
    params
        Model parameters (e.g. ``L96Params()``, the standard set-up).
    seed
        Seed of the initial state (see :func:`initial_state`); recorded in the attributes.
    spinup_mtu
        Spin-up length in MTU (>= 0, a multiple of ``dt``), integrated and discarded.
    length_mtu
        Length of the stored run in MTU (> 0, a multiple of ``sample_mtu``).
    dt
        RK4 time step (> 0).
    sample_mtu
        Sampling interval (a multiple of ``dt``).
    store_y
        Keep the small-scale variables ``Y`` (``K*J`` values per sample: most of the
        volume). ``U`` is always stored.
    y_dtype
        ``"float64"`` or ``"float32"`` (halves the size of ``Y``; ``X`` and ``U`` stay
        float64, and ``U`` is computed from the float64 state).
    progress
        Show a tqdm bar; ``None``: only on a terminal.

    Returns
    -------
    xarray.Dataset
        ``X(time, k)``, ``U(time, k)`` and, with ``store_y``, ``Y(time, k, j)``; ``time``
        in MTU after the spin-up (first sample at ``sample_mtu``).
    """
    if not isinstance(params, L96Params):
        raise ValueError(f"params must be an L96Params, given {type(params).__name__}")
    seed = _seed(seed)
    dt = _real("dt", dt)
    sample_mtu = _real("sample_mtu", sample_mtu)
    spinup_mtu = _real("spinup_mtu", spinup_mtu, strict=False)
    length_mtu = _real("length_mtu", length_mtu)
    if y_dtype not in ("float64", "float32"):
        raise ValueError(f"y_dtype must be 'float64' or 'float32', given {y_dtype!r}")
    every = _steps("sample_mtu", sample_mtu, dt)
    nspin = _steps("spinup_mtu", spinup_mtu, dt)
    nout = _steps("length_mtu", length_mtu, sample_mtu)
    nk, nj = params.K, params.J

    x, y = initial_state(params, seed)
    xs = np.empty((nout, nk))
    us = np.empty((nout, nk))
    ys = np.empty((nout, nk, nj), dtype=y_dtype) if store_y else None
    chunk = max(1, round(_CHUNK_MTU / sample_mtu))  # samples per Fortran call
    with tqdm(total=round(spinup_mtu + length_mtu, 6), unit="MTU",
              disable=None if progress is None else not progress,
              desc=f"L96 truth (seed {seed})", leave=False) as bar:
        done = 0
        while done < nspin:  # spin-up, in chunks of _CHUNK_MTU
            n = min(nspin - done, chunk * every)
            *_, x, y = run_two_scale(x, y, params, dt, n, n, return_state=True)
            done += n
            bar.update(n * dt)
        done = 0
        while done < nout:
            n = min(nout - done, chunk)
            cx, cy, cu, x, y = run_two_scale(x, y, params, dt, n * every, every,
                                             return_state=True)
            xs[done:done + n] = cx
            us[done:done + n] = cu
            if ys is not None:
                ys[done:done + n] = cy.reshape(n, nk, nj)
            done += n
            bar.update(n * sample_mtu)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise FloatingPointError(f"the truth run became non-finite (params {params}, "
                                 f"dt {dt}); reduce dt")
    return _dataset(params, seed, spinup_mtu, dt, sample_mtu, xs, ys, us)


def _dataset(params: L96Params, seed: int, spinup_mtu: float, dt: float, sample_mtu: float,
             xs: np.ndarray, ys: np.ndarray | None, us: np.ndarray) -> xr.Dataset:
    from ... import __version__

    nout, nk = xs.shape
    time = sample_mtu * np.arange(1, nout + 1)
    coords = {
        "time": ("time", time, {
            "units": "MTU", "long_name": "time in model time units", "axis": "T",
            "comment": "since the end of the spin-up; 1 MTU is about 5 atmospheric days",
        }),
        "k": ("k", np.arange(1, nk + 1, dtype=np.int32), {
            "units": "1", "long_name": "index of the large-scale variable X_k",
        }),
    }
    data_vars: dict[str, Any] = {
        "X": (("time", "k"), xs, {
            "units": "1", "long_name": "large-scale variable X_k of two-scale Lorenz 96",
        }),
        "U": (("time", "k"), us, {
            "units": "1", "long_name": "sub-grid tendency U_k = (h c / b) sum_j Y_jk",
            "comment": "the coarse model is dX_k/dt = -X_(k-1) (X_(k-2) - X_(k+1)) "
                       "- X_k + F - U_k",
        }),
    }
    if ys is not None:
        nj = ys.shape[2]
        coords["j"] = ("j", np.arange(1, nj + 1, dtype=np.int32), {
            "units": "1", "long_name": "index of the small-scale variable Y_jk within X_k",
        })
        data_vars["Y"] = (("time", "k", "j"), ys, {
            "units": "1", "long_name": "small-scale variable Y_jk of two-scale Lorenz 96",
            "comment": "one ring of K*J variables: Y_(J+1,k) = Y_(1,k+1)",
        })
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    attrs: dict[str, Any] = {
        "title": "Two-scale Lorenz 96 truth run",
        "Conventions": "CF-1.10",
        "source": f"climlearn {__version__}: Fortran module l96_physics (RK4), via f90wrap",
        "history": f"{now} created by climlearn.testbeds.lorenz96.data.generate_truth",
        "references": "Lorenz (1996); Wilks (2005), doi:10.1256/qj.04.03",
        "equations": "dX_k/dt = -X_(k-1) (X_(k-2) - X_(k+1)) - X_k + F - (h c / b) sum_j "
                     "Y_jk; dY_jk/dt = -c b Y_(j+1,k) (Y_(j+2,k) - Y_(j-1,k)) - c Y_jk "
                     "+ (h c / b) X_k",
        **params.as_dict(),
        "seed": np.int64(seed),
        "integrator": "RK4",
        "dt": dt,
        "sample_interval": sample_mtu,
        "spinup": spinup_mtu,
        "length": nout * sample_mtu,
        "time_units": "MTU",
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def write_netcdf(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` to NetCDF atomically: a temporary file in the same folder, then a rename.

    No half-written file is ever left at ``path`` (an interrupted write leaves the old
    file, if any, untouched).

    Parameters
    ----------
    ds
        The dataset.
    path
        Destination; its folder is created if needed.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        ds.to_netcdf(tmp, engine="netcdf4")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_truth(path: str | os.PathLike) -> xr.Dataset:
    """Load a truth file written by :func:`write_netcdf` (into memory; the file is closed).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (the message names it).
    ValueError
        If the file lacks the variables ``X`` and ``U``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Lorenz 96 truth file not found: {path}")
    with xr.open_dataset(path) as ds:
        missing = [v for v in ("X", "U") if v not in ds.data_vars]
        if missing:
            raise ValueError(f"{path} is not a Lorenz 96 truth file: it lacks the variables "
                             f"{missing} (has {sorted(ds.data_vars)})")
        return ds.load()


def _matches(path: Path, wanted: dict[str, Any], need_y: bool) -> bool:
    """Whether an existing file was made with the wanted (numeric) attributes."""
    try:
        with xr.open_dataset(path) as ds:
            same = all(key in ds.attrs and np.isclose(ds.attrs[key], value)
                       for key, value in wanted.items())
            return same and ("Y" in ds.data_vars or not need_y)
    except (OSError, ValueError, TypeError):
        return False


def standard_datasets(out_dir: str | os.PathLike, seed: int = 0, quick: bool = False, *,
                      params: L96Params | None = None, store_y: bool = True,
                      y_dtype: str = "float32", overwrite: bool = False,
                      progress: bool | None = None) -> dict[str, Path]:
    """Make the standard training and test truth files.

    ``train``: :data:`STANDARD` lengths (2000 MTU after a 20 MTU spin-up; quick: 50 MTU
    after 5), seed ``seed``; ``test``: 500 MTU (quick: 20), seed
    ``seed + TEST_SEED_OFFSET``. RK4 at dt = 0.001, sampled every 0.005 MTU.

    Parameters
    ----------
    out_dir
        Folder of ``l96_truth_train.nc`` and ``l96_truth_test.nc``.
    seed
        Seed of the training run.
    quick
        Short runs, for tests and quick pipelines.
    params
        Model parameters (default ``L96Params()``).
    store_y, y_dtype
        As in :func:`generate_truth`; ``Y`` is stored as float32 by default (a full
        training file is then about 0.4 GB).
    overwrite
        Regenerate files that exist; otherwise an existing file made with the same
        parameters, seed and lengths is kept.
    progress
        Show tqdm bars; ``None``: only on a terminal.

    Returns
    -------
    dict
        ``{"train": path, "test": path}``.
    """
    params = L96Params() if params is None else params
    seed = _seed(seed)
    lengths = QUICK if quick else STANDARD
    out_dir = Path(out_dir)
    paths: dict[str, Path] = {}
    for name, run_seed, mtu in (("train", seed, lengths["train_mtu"]),
                                ("test", seed + TEST_SEED_OFFSET, lengths["test_mtu"])):
        path = out_dir / f"l96_truth_{name}.nc"
        wanted = {**params.as_dict(), "seed": run_seed, "length": mtu,
                  "spinup": lengths["spinup_mtu"], "dt": 0.001, "sample_interval": 0.005}
        if not overwrite and path.is_file() and _matches(path, wanted, store_y):
            log.info("reusing %s", path)
        else:
            log.info("generating %s (%g MTU, seed %d)", path, mtu, run_seed)
            ds = generate_truth(params, run_seed, lengths["spinup_mtu"], mtu, store_y=store_y,
                                y_dtype=y_dtype, progress=progress)
            write_netcdf(ds, path)
        paths[name] = path
    return paths
