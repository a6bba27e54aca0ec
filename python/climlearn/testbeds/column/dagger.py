"""On-policy training data for the convection emulator (DAgger-like).

An emulator trained on the reference run only sees the states of the reference climate;
online, its own small errors move the columns to states it never saw, where its errors
grow. Here the emulator is run online in Python (the Fortran physics through f90wrap,
the exported TorchScript file for convection, with the same constraints as the Fortran
host's ``ml_constrain``), the states it reaches are collected, and the reference scheme
labels them (``convection_reference`` through f90wrap). The labelled states are added to
the training set and the emulator is trained again, for a few rounds (Ross et al. 2011,
"DAgger").
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

from .emulators import cloud_layer_closure
from .physics import (
    CP,
    GRAV,
    LV,
    ColumnGrid,
    bm_features,
    convection,
    initial_state,
    large_scale_condensation,
    physics_step,
)

__all__ = ["constrain", "emulated_run", "label_states"]

log = logging.getLogger(__name__)


def constrain(t: np.ndarray, q: np.ndarray, d_t: np.ndarray, d_q: np.ndarray,
              dp: np.ndarray, dtime: float, max_dtdt: float = 5.0e-4,
              max_dqdt: float = 5.0e-7) -> tuple[np.ndarray, np.ndarray]:
    """numpy port of the Fortran host's ``ml_constrain`` (``column_host.f90``): bounds,
    ``dq/dt >= -q/dtime``, then the |dT|-weighted column enthalpy correction."""
    d_t = np.clip(d_t, -max_dtdt, max_dtdt)
    d_q = np.clip(d_q, -max_dqdt, max_dqdt)
    d_q = np.maximum(d_q, -np.maximum(q, 0.0) / dtime)
    resid = ((CP * d_t + LV * d_q) * dp).sum(axis=1) / GRAV
    wsum = (np.abs(d_t) * dp).sum(axis=1) / GRAV
    fix = np.divide(resid, CP * wsum, out=np.zeros_like(resid), where=wsum > 0)
    return d_t - fix[:, None] * np.abs(d_t), d_q


def emulated_run(model_path: str | os.PathLike, grid: ColumnGrid, dtime: float,
                 nsteps: int, *, every: int = 3, tau_evap: float = 86400.0,
                 t0: np.ndarray | None = None, q0: np.ndarray | None = None
                 ) -> dict[str, Any]:
    """Run the host physics with the exported emulator as convection, collecting states.

    Each step: Held-Suarez relaxation, evaporation, dry adjustment (Fortran), the
    network on all columns (with the Betts-Miller features of :func:`.physics.bm_features`
    appended to (T, q) when the model takes ``6*klev`` inputs, then
    :func:`.emulators.cloud_layer_closure`, as the host does) and :func:`constrain`,
    large-scale condensation (Fortran).
    Humidity is floored at 0 after the convective update (it can come out at -1e-21 by
    round-off; the Python physics wrappers reject negative humidity).

    Returns
    -------
    dict
        ``t``, ``q``: states given to convection every ``every`` steps,
        ``(nsamp, klon, klev)``; ``blowup_step``: first step with a non-finite state or
        T outside [100, 400] K (0 if none), at which the run stopped.
    """
    if t0 is None or q0 is None:
        t0, q0 = initial_state(grid)
    from ...export import read_card

    net = torch.jit.load(str(model_path))
    net.eval()
    try:
        nin = read_card(model_path)["inputs"][0]["shape"][1]
    except ValueError:  # a bare TorchScript file (no card): (T, q) inputs
        nin = 2 * grid.klev
    dp = grid.paprs[:, :-1] - grid.paprs[:, 1:]
    k = grid.klev
    t, q = np.array(t0, dtype=float), np.array(q0, dtype=float)
    ts, qs = [], []
    blow = 0
    for n in tqdm(range(1, nsteps + 1), desc="emulated run", unit="step", disable=None,
                  mininterval=5.0):
        st = physics_step(t, q, grid, dtime, conv=False, lsc=False, tau_evap=tau_evap)
        t, q = st["t"], st["q"]
        if n % every == 0:
            ts.append(t.copy())
            qs.append(q.copy())
        feats = [t, q, *bm_features(t, q, grid)] if nin == 6 * k else [t, q]
        x = torch.as_tensor(np.concatenate(feats, axis=1), dtype=torch.float32)
        with torch.no_grad():
            y = net(x).double()
        if nin == 6 * k:
            y = cloud_layer_closure(y, torch.as_tensor(feats[4]), torch.as_tensor(dp))
        y = y.numpy()
        d_t, d_q = constrain(t, q, y[:, :k], y[:, k:], dp, dtime)
        t = t + dtime * d_t
        q = np.maximum(q + dtime * d_q, 0.0)
        if not (np.isfinite(t).all() and np.isfinite(q).all()
                and t.min() > 100.0 and t.max() < 400.0):
            blow = n
            break
        t, q, _ = large_scale_condensation(t, q, grid, dtime)
    if blow:
        log.warning("emulated run left the physical range at step %d", blow)
    shape = (0, grid.klon, k)
    return {"t": np.array(ts).reshape(shape if not ts else (len(ts), grid.klon, k)),
            "q": np.array(qs).reshape(shape if not qs else (len(qs), grid.klon, k)),
            "blowup_step": blow}


def label_states(t: np.ndarray, q: np.ndarray, grid: ColumnGrid, dtime: float,
                 lat: np.ndarray | None = None) -> xr.Dataset:
    """Reference convection tendencies of states ``(nsamp, klon, klev)``, as a dataset
    with ``ta``, ``hus``, ``tnta_conv``, ``tnhus_conv`` on (time, lat, lev). States with
    non-finite values or T outside [100, 400] K are dropped."""
    ok = [i for i in range(len(t)) if np.isfinite(t[i]).all() and np.isfinite(q[i]).all()
          and t[i].min() > 100.0 and t[i].max() < 400.0 and q[i].min() >= 0.0]
    dts, dqs = [], []
    for i in ok:
        d_t, d_q, _ = convection(t[i], q[i], grid, dtime)
        dts.append(d_t)
        dqs.append(d_q)
    dims = ("time", "lat", "lev")
    shape = (len(ok), grid.klon, grid.klev)
    return xr.Dataset(
        {"ta": (dims, np.asarray(t)[ok].reshape(shape), {"units": "K"}),
         "hus": (dims, np.asarray(q)[ok].reshape(shape), {"units": "kg kg-1"}),
         "tnta_conv": (dims, np.array(dts).reshape(shape), {"units": "K s-1"}),
         "tnhus_conv": (dims, np.array(dqs).reshape(shape), {"units": "kg kg-1 s-1"})},
        coords={"lat": grid.lat if lat is None else lat, "lev": grid.sigma})
