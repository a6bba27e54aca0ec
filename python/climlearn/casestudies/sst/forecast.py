"""SST forecasting by learned motion and warping: train, forecast, evaluate, export."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from climlearn.fields import verify
from climlearn.fields.learned_motion import (
    MotionNet,
    MotionTrainConfig,
    learned_forecast,
    learned_motion,
    train_motion_net,
)
from climlearn.fields.motion import estimate_motion, extrapolation_forecast
from climlearn.fields.warp import extrapolate

__all__ = ["METHODS", "SSTConfig", "evaluation_mask", "evaluate", "export_motion_net",
           "forecast", "train"]

log = logging.getLogger(__name__)

METHODS = ("learned", "learned_repeat", "optical_flow", "persistence")


@dataclass
class SSTConfig:
    """Sizes and training settings of the SST case study."""

    size: int = 32
    ntime: int = 10
    n_train: int = 48
    n_test: int = 12
    n_leads: int = 6
    train: MotionTrainConfig = field(default_factory=lambda: MotionTrainConfig(
        n_input=4, rollout=3, steps=4800, batch_size=8, lr=3e-3))


def _check_training(data: xr.Dataset | xr.DataArray, var: str) -> np.ndarray:
    da = data[var] if isinstance(data, xr.Dataset) else data
    if not isinstance(da, xr.DataArray):
        raise TypeError(f"expected an xarray Dataset or DataArray, got {type(data).__name__}")
    if da.dims != ("sample", "time", "y", "x"):
        raise ValueError(f"training maps must have dims ('sample', 'time', 'y', 'x'), "
                         f"got {da.dims}")
    vals = da.values
    empty = np.argwhere(~np.isfinite(vals).any(axis=(2, 3)))
    if empty.size:
        raise ValueError(f"training maps (sample, time) {empty[:5].tolist()} have no valid "
                         "pixel (all missing)")
    return vals


def train(data: xr.Dataset | xr.DataArray, config: MotionTrainConfig | None = None,
          var: str = "sst", progress: bool | None = None) -> MotionNet:
    """Train the motion CNN end to end on next-map error.

    Parameters
    ----------
    data
        Maps with dims ``(sample, time, y, x)`` (e.g. :func:`sst_dataset`), NaN allowed.
    config
        Training settings (default :class:`MotionTrainConfig` with one-step rollout).
    var
        Variable name when ``data`` is a Dataset.
    """
    vals = _check_training(data, var)
    cfg = config or SSTConfig().train
    net, hist = train_motion_net(vals, cfg, progress=progress)
    net.history = hist  # type: ignore[attr-defined]
    return net


def forecast(frames: xr.DataArray, n_leads: int = 6, method: str = "learned",
             net: MotionNet | None = None, boundary: str = "border") -> xr.DataArray:
    """Forecast the next ``n_leads`` maps from the past ``frames`` ``(time, y, x)``.

    Parameters
    ----------
    method
        ``"learned"`` (CNN motion, trajectory rollout), ``"learned_repeat"`` (CNN motion,
        repeated warping as in the paper), ``"optical_flow"`` (Lucas-Kanade motion + the
        same warping) or ``"persistence"``.
    net
        Trained network (learned methods only).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid names: {list(METHODS)}")
    if method.startswith("learned"):
        if net is None:
            raise ValueError(f"method {method!r} needs a trained net")
        rollout = "repeat" if method == "learned_repeat" else "trajectory"
        return learned_forecast(net, frames, n_leads, rollout=rollout, boundary=boundary)
    if method == "optical_flow":
        return extrapolation_forecast(frames, n_leads, boundary=boundary)
    if not isinstance(frames, xr.DataArray) or frames.dims != ("time", "y", "x"):
        raise ValueError("frames must be a DataArray with dims ('time', 'y', 'x')")
    last = frames.isel(time=-1, drop=True)
    if not np.isfinite(last.values).any():
        raise ValueError("the last map has no valid pixel (all missing)")
    out = xr.concat([last] * int(n_leads), dim="lead")
    return out.assign_coords(lead=np.arange(1, int(n_leads) + 1))


def evaluation_mask(u: xr.DataArray, v: xr.DataArray, n_leads: int,
                    margin: float = 1.0) -> xr.DataArray:
    """Pixels whose true backward trajectory stays in the domain for each lead.

    Content that flows in through the boundary cannot be forecast by any extrapolation
    method, so scores are computed on this mask, identical for every method.

    Returns
    -------
    xarray.DataArray
        Boolean ``(lead, y, x)``.
    """
    ny, nx = u.shape
    ones = xr.DataArray(np.ones((ny, nx)), dims=("y", "x"))
    m = int(np.ceil(margin))
    ones[:m, :] = np.nan
    ones[-m:, :] = np.nan
    ones[:, :m] = np.nan
    ones[:, -m:] = np.nan
    motion = xr.Dataset({"u": (("y", "x"), np.asarray(u)), "v": (("y", "x"), np.asarray(v))})
    out = extrapolate(ones, motion, n_leads, boundary="nan")
    return np.isfinite(out) & (out > 0.999)


def evaluate(net: MotionNet, test: xr.Dataset, n_leads: int = 6, n_input: int = 4,
             var: str = "sst", margin: int = 4) -> dict:
    """Scores of every method on a test set from :func:`sst_dataset`.

    Returns
    -------
    dict
        ``mse[flow][method]`` (list over leads, mean over samples), ``motion_error[flow]``
        (relative error of the learned and optical-flow motion, interior pixels) and
        ``n_samples[flow]``.
    """
    if test[var].sizes["time"] < n_input + n_leads:
        raise ValueError(f"test sequences need {n_input + n_leads} maps, "
                         f"got {test[var].sizes['time']}")
    size_y, size_x = test.sizes["y"], test.sizes["x"]
    inner = np.zeros((size_y, size_x), bool)
    inner[margin:-margin, margin:-margin] = True
    res: dict = {"mse": {}, "motion_error": {}, "n_samples": {}}
    for kind in np.unique(test["flow"].values):
        idx = np.flatnonzero(test["flow"].values == kind)
        mse = {m: [] for m in METHODS}
        merr = {"learned": [], "optical_flow": []}
        for i in idx:
            d = test.isel(sample=i)
            frames = d[var].isel(time=slice(0, n_input))
            truth = d[var].isel(time=slice(n_input, n_input + n_leads)).values
            mask = evaluation_mask(d.u, d.v, n_leads).values
            t_masked = np.where(mask, truth, np.nan)
            for m in METHODS:
                fc = forecast(frames, n_leads, m, net)
                mse[m].append(verify.mse(fc.values, t_masked).values)
            lm = learned_motion(net, frames)
            om = estimate_motion(frames)
            merr["learned"].append(verify.relative_motion_error(lm.u, lm.v, d.u, d.v, inner))
            merr["optical_flow"].append(verify.relative_motion_error(om.u, om.v, d.u, d.v,
                                                                     inner))
        res["mse"][str(kind)] = {m: np.mean(v, axis=0).tolist() for m, v in mse.items()}
        res["motion_error"][str(kind)] = {m: float(np.mean(v)) for m, v in merr.items()}
        res["n_samples"][str(kind)] = int(idx.size)
    return res


def export_motion_net(net: MotionNet, path: str | os.PathLike, size: int,
                      metrics: dict | None = None, seed: int | None = None) -> Path:
    """Export the motion CNN with :func:`climlearn.export.to_torchscript`.

    The exported module maps ``frames`` ``(batch, n_input, size, size)`` (K) to
    ``motion`` ``(batch, 2, size, size)`` (pixels per step; channel 0 along x).
    """
    from climlearn.export import to_torchscript

    gen = torch.Generator().manual_seed(0)
    example = 290.0 + torch.randn((2, net.n_input, size, size), generator=gen)
    return to_torchscript(
        net, path, example_inputs=example, input_names=["frames"], output_names=["motion"],
        units={"frames": "K", "motion": "1"},
        long_names={"frames": "last sea surface temperature maps, oldest first",
                    "motion": "motion (u along x, v along y) in pixels per time step"},
        seed=seed, metrics=metrics or {},
        metadata={"case_study": "sst", "method": "de Bezenac et al. 2018 motion CNN"})
