"""Nowcasting by motion + extrapolation: rain rate and suspended matter with clouds.

Both variables are forecast in a transformed space where motion estimation and
bilinear interpolation behave well: ``log10(R + 0.1)`` for rain rate ``R`` (mm/h) and
``log(TSM)`` for suspended matter (g m-3). Motion is learned (:class:`MotionNet`,
trained end to end as in :mod:`climlearn.casestudies.sst`) or classical (dense
Lucas-Kanade); with clouds it is estimated on observed pixels only. Forecasts keep NaN
where the extrapolated pixel comes from a cloud.
"""

from __future__ import annotations

import logging

import numpy as np
import xarray as xr

from climlearn.fields import verify
from climlearn.fields.learned_motion import MotionNet, MotionTrainConfig, learned_forecast
from climlearn.fields.motion import extrapolation_forecast

from ..sst.forecast import evaluation_mask, train

__all__ = ["METHODS", "RAIN_OFFSET", "TRANSFORMS", "evaluate_rain", "evaluate_tsm",
           "nowcast", "train_nowcaster"]

log = logging.getLogger(__name__)

METHODS = ("learned", "optical_flow", "persistence")
RAIN_OFFSET = 0.1  # mm/h, inside log10(R + offset)

TRANSFORMS = {
    "rain_rate": (lambda r: np.log10(np.clip(r, 0, None) + RAIN_OFFSET),
                  lambda z: np.clip(10.0 ** z - RAIN_OFFSET, 0, None)),
    "tsm": (lambda c: np.log(c), lambda z: np.exp(z)),
}


def _transform(var: str):  # noqa: ANN202 - (forward, inverse)
    try:
        return TRANSFORMS[var]
    except KeyError:
        raise ValueError(f"unknown variable {var!r}; valid names: {sorted(TRANSFORMS)}") \
            from None


def _check_frames(frames: xr.DataArray, var: str) -> None:
    if not isinstance(frames, xr.DataArray):
        raise TypeError(f"frames must be an xarray.DataArray, got {type(frames).__name__}")
    if frames.dims != ("time", "y", "x"):
        raise ValueError(f"frames must have dims ('time', 'y', 'x'), got {frames.dims}")
    vals = frames.values
    empty = np.flatnonzero(~np.isfinite(vals).any(axis=(1, 2)))
    if empty.size:
        raise ValueError(f"maps at time indices {empty.tolist()} have no valid pixel "
                         "(all missing)")
    if var == "tsm" and np.nanmin(vals) <= 0:
        raise ValueError(f"suspended matter must be positive, got min {np.nanmin(vals):g}")
    if var == "rain_rate" and np.nanmin(vals) < 0:
        raise ValueError(f"rain rate must be >= 0, got min {np.nanmin(vals):g}")


def train_nowcaster(data: xr.Dataset, var: str, config: MotionTrainConfig | None = None,
                    progress: bool | None = None) -> MotionNet:
    """Train the motion CNN on transformed ``data[var]`` ``(sample, time, y, x)``."""
    if var not in data:
        raise ValueError(f"variable {var!r} not in the data ({list(data.data_vars)})")
    fwd, _ = _transform(var)
    z = data[var].copy(data=fwd(data[var].values))
    return train(z, config, var=var, progress=progress)


def nowcast(frames: xr.DataArray, n_leads: int, var: str, method: str = "learned",
            net: MotionNet | None = None) -> xr.DataArray:
    """Nowcast ``n_leads`` steps of ``var`` (``"rain_rate"`` or ``"tsm"``).

    Parameters
    ----------
    frames
        Past maps ``(time, y, x)`` in physical units, oldest first; NaN = missing.
    method
        ``"learned"``, ``"optical_flow"`` or ``"persistence"``.
    net
        Trained network for ``"learned"`` (from :func:`train_nowcaster`).

    Returns
    -------
    xarray.DataArray
        ``(lead, y, x)`` in the units of ``frames``.
    """
    fwd, inv = _transform(var)
    _check_frames(frames, var)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid names: {list(METHODS)}")
    z = frames.copy(data=fwd(frames.values))
    if method == "learned":
        if net is None:
            raise ValueError("method 'learned' needs a trained net")
        fz = learned_forecast(net, z, n_leads)
    elif method == "optical_flow":
        fz = extrapolation_forecast(z, n_leads)
    else:
        last = z.isel(time=-1, drop=True)
        fz = xr.concat([last] * int(n_leads), dim="lead").assign_coords(
            lead=np.arange(1, int(n_leads) + 1))
    out = fz.copy(data=inv(fz.values))
    out.attrs = dict(frames.attrs)
    return out.rename(frames.name)


def forecast_all(frames: xr.DataArray, n_leads: int, var: str,
                 nets: dict[str, MotionNet]) -> dict[str, xr.DataArray]:
    """Nowcasts of every method (learned only when a net is given)."""
    out = {}
    for m in METHODS:
        if m == "learned" and "learned" not in nets:
            continue
        out[m] = nowcast(frames, n_leads, var, m, nets.get("learned"))
    return out


def rain_scores(fc: np.ndarray, truth: np.ndarray, scale: int = 5) -> dict[str, float]:
    """CSI at 1 and 5 mm/h and FSS at 1 mm/h (``scale`` pixels) of one map."""
    return {"csi_1": float(verify.csi(fc, truth, 1.0)),
            "csi_5": float(verify.csi(fc, truth, 5.0)),
            "fss_1": float(verify.fss(fc, truth, 1.0, scale))}


def evaluate_rain(net: MotionNet | None, test: xr.Dataset, n_input: int = 4,
                  n_leads: int = 6, scale: int = 5,
                  extra: dict | None = None) -> dict[str, dict[str, float]]:
    """CSI (1, 5 mm/h) and FSS (1 mm/h, ``scale`` px) at lead ``n_leads`` (+30 min for
    5-min steps), pooled over the test samples (contingency counts summed).

    Parameters
    ----------
    extra
        Optional ``{name: callable(frames, n_leads) -> (lead, y, x) array}`` of other
        methods scored on the same data (e.g. pysteps in the benchmark).
    """
    nets = {"learned": net} if net is not None else {}
    fcs: dict[str, list[np.ndarray]] = {}
    truths, masks = [], []
    for i in range(test.sizes["sample"]):
        d = test.isel(sample=i)
        frames = d.rain_rate.isel(time=slice(0, n_input))
        truths.append(d.rain_rate.values[n_input + n_leads - 1])
        masks.append(evaluation_mask(d.u, d.v, n_leads).values[-1])
        for m, f in forecast_all(frames, n_leads, "rain_rate", nets).items():
            fcs.setdefault(m, []).append(f.values[-1])
        for m, fn in (extra or {}).items():
            fcs.setdefault(m, []).append(np.asarray(fn(frames, n_leads))[-1])
    truth = np.stack(truths)
    truth = np.where(np.stack(masks), truth, np.nan)
    res = {}
    for m, arrs in fcs.items():
        f = np.stack(arrs)
        res[m] = {"csi_1": float(verify.csi(f, truth, 1.0, dims=None)),
                  "csi_5": float(verify.csi(f, truth, 5.0, dims=None)),
                  "fss_1": float(verify.fss(f, truth, 1.0, scale, dims=None))}
    return res


def evaluate_tsm(net: MotionNet | None, test: xr.Dataset, n_input: int = 4,
                 n_leads: int = 6, extra: dict | None = None) -> dict[str, list[float]]:
    """RMSE of ``log(TSM)`` per lead against the complete truth, on pixels that every
    method forecasts (and whose true trajectory stays in the domain), pooled over
    samples."""
    nets = {"learned": net} if net is not None else {}
    sq: dict[str, list[np.ndarray]] = {}
    for i in range(test.sizes["sample"]):
        d = test.isel(sample=i)
        frames = d.tsm.isel(time=slice(0, n_input))
        truth = np.log(d.tsm_true.values[n_input:n_input + n_leads])
        mask = evaluation_mask(d.u, d.v, n_leads).values
        fcs = {m: np.log(f.values) for m, f in forecast_all(frames, n_leads, "tsm",
                                                             nets).items()}
        for m, fn in (extra or {}).items():
            fcs[m] = np.log(np.asarray(fn(frames, n_leads)))
        common = mask & np.all([np.isfinite(f) for f in fcs.values()], axis=0)
        for m, f in fcs.items():
            sq.setdefault(m, []).append(np.where(common, (f - truth) ** 2, np.nan))
    return {m: np.sqrt(np.nanmean(np.stack(v), axis=(0, 2, 3))).tolist()
            for m, v in sq.items()}
