"""Verification scores for sequences of maps (NaN-aware).

All scores take ``xarray.DataArray`` (or numpy arrays, which are given dims
``(time, y, x)`` / ``(y, x)``) for the forecast and the truth on the same grid. A pixel
counts only where both are finite. By default a score is computed per map, reducing over
``("y", "x")`` and keeping the other dims (typically ``time`` or ``lead``); pass
``dims=None`` to reduce over everything.

* :func:`mse`, :func:`rmse` - mean squared error (per lead);
* :func:`contingency`, :func:`csi`, :func:`pod`, :func:`far` - categorical scores at a
  threshold (event: ``value >= threshold``);
* :func:`fss` - fractions skill score (Roberts & Lean 2008) at a threshold and a square
  neighbourhood of ``scale`` pixels;
* :func:`dice` - Dice coefficient per class of integer class masks, :func:`mean_dice`;
* :func:`relative_motion_error` - ``||(u, v) - (u*, v*)|| / ||(u*, v*)||``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

__all__ = [
    "contingency",
    "csi",
    "dice",
    "far",
    "fss",
    "mean_dice",
    "mse",
    "pod",
    "relative_motion_error",
    "rmse",
]

Dims = str | Sequence[str] | None
ArrayLike = xr.DataArray | np.ndarray


def _as_da(a: ArrayLike, what: str) -> xr.DataArray:
    if isinstance(a, xr.DataArray):
        return a
    arr = np.asarray(a)
    if arr.ndim == 2:
        return xr.DataArray(arr, dims=("y", "x"))
    if arr.ndim == 3:
        return xr.DataArray(arr, dims=("time", "y", "x"))
    raise ValueError(f"{what}: expected a (y, x) or (time, y, x) array, got shape {arr.shape}")


def _pair(forecast: ArrayLike, truth: ArrayLike,
          dims: Dims) -> tuple[xr.DataArray, xr.DataArray, list[str]]:
    f, t = _as_da(forecast, "forecast"), _as_da(truth, "truth")
    if set(f.dims) != set(t.dims):
        raise ValueError(f"forecast and truth have different dims: {f.dims} vs {t.dims}")
    t = t.transpose(*f.dims)
    if f.shape != t.shape:
        raise ValueError(f"forecast and truth grids differ: {dict(f.sizes)} vs "
                         f"{dict(t.sizes)}")
    for name in f.dims:
        if name in f.coords and name in t.coords and not np.array_equal(
                f[name].values, t[name].values):
            raise ValueError(f"forecast and truth coordinates {name!r} differ")
    if dims is None:
        red = list(f.dims)
    else:
        red = [dims] if isinstance(dims, str) else list(dims)
        missing = [d for d in red if d not in f.dims]
        if missing:
            raise ValueError(f"dims {missing} not in the data dims {f.dims}")
    # same coordinates as the forecast, so arithmetic cannot misalign
    t = xr.DataArray(t.values, dims=f.dims, coords=f.coords, attrs=t.attrs)
    return f, t, red


def _valid(f: xr.DataArray, t: xr.DataArray) -> xr.DataArray:
    return np.isfinite(f) & np.isfinite(t)


def mse(forecast: ArrayLike, truth: ArrayLike, dims: Dims = ("y", "x")) -> xr.DataArray:
    """Mean squared error over the pixels where both are finite.

    Returns NaN for a map with no valid pixel.
    """
    f, t, red = _pair(forecast, truth, dims)
    err = (f - t) ** 2
    out = err.where(_valid(f, t)).mean(red, skipna=True)
    out.attrs = {"long_name": "mean squared error"}
    return out.rename("mse")


def rmse(forecast: ArrayLike, truth: ArrayLike, dims: Dims = ("y", "x")) -> xr.DataArray:
    """Root mean squared error over the pixels where both are finite."""
    out = np.sqrt(mse(forecast, truth, dims))
    out.attrs = {"long_name": "root mean squared error"}
    return out.rename("rmse")


def contingency(forecast: ArrayLike, truth: ArrayLike, threshold: float,
                dims: Dims = ("y", "x")) -> xr.Dataset:
    """Counts of hits, misses, false alarms and correct negatives (event: ``>= threshold``)."""
    f, t, red = _pair(forecast, truth, dims)
    ok = _valid(f, t)
    fe, te = (f >= threshold) & ok, (t >= threshold) & ok
    return xr.Dataset({
        "hits": (fe & te).sum(red),
        "misses": (~fe & te).sum(red),
        "false_alarms": (fe & ~te).sum(red),
        "correct_negatives": (~fe & ~te & ok).sum(red),
    }, attrs={"threshold": float(threshold)})


def _ratio(num: xr.DataArray, den: xr.DataArray, name: str, long_name: str) -> xr.DataArray:
    out = (num / den.where(den > 0)).astype(float)
    out.attrs = {"long_name": long_name, "units": "1"}
    return out.rename(name)


def csi(forecast: ArrayLike, truth: ArrayLike, threshold: float,
        dims: Dims = ("y", "x")) -> xr.DataArray:
    """Critical success index ``H / (H + M + F)`` (NaN when there is no event at all)."""
    c = contingency(forecast, truth, threshold, dims)
    return _ratio(c.hits, c.hits + c.misses + c.false_alarms, "csi",
                  f"critical success index at {threshold}")


def pod(forecast: ArrayLike, truth: ArrayLike, threshold: float,
        dims: Dims = ("y", "x")) -> xr.DataArray:
    """Probability of detection ``H / (H + M)`` (NaN when nothing is observed)."""
    c = contingency(forecast, truth, threshold, dims)
    return _ratio(c.hits, c.hits + c.misses, "pod",
                  f"probability of detection at {threshold}")


def far(forecast: ArrayLike, truth: ArrayLike, threshold: float,
        dims: Dims = ("y", "x")) -> xr.DataArray:
    """False alarm ratio ``F / (H + F)`` (NaN when nothing is forecast)."""
    c = contingency(forecast, truth, threshold, dims)
    return _ratio(c.false_alarms, c.hits + c.false_alarms, "far",
                  f"false alarm ratio at {threshold}")


def _box_mean(a: np.ndarray, scale: int) -> np.ndarray:
    """Mean over a ``scale x scale`` window (zero padding outside) on the last two axes."""
    pad_lo = scale // 2
    pad_hi = scale - 1 - pad_lo
    p = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(pad_lo + 1, pad_hi), (pad_lo + 1, pad_hi)])
    c = p.cumsum(-1).cumsum(-2)
    s = (c[..., scale:, scale:] - c[..., :-scale, scale:] - c[..., scale:, :-scale]
         + c[..., :-scale, :-scale])
    return s / scale ** 2


def fss(forecast: ArrayLike, truth: ArrayLike, threshold: float, scale: int,
        dims: Dims = ("y", "x")) -> xr.DataArray:
    """Fractions skill score at ``threshold`` with a square window of ``scale`` pixels.

    Fractions are the share of event pixels among the *valid* pixels of each window
    (both finite); windows without valid pixels are ignored. ``FSS = 1 - MSE(Pf, Po) /
    (mean(Pf**2) + mean(Po**2))``; NaN when neither field has an event.

    Parameters
    ----------
    scale
        Odd or even window width in pixels (1 gives the pixel-wise score).
    dims
        Must contain ``"y"`` and ``"x"`` (the neighbourhood is spatial).
    """
    if int(scale) != scale or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    scale = int(scale)
    f, t, red = _pair(forecast, truth, dims)
    if "y" not in red or "x" not in red:
        raise ValueError(f"fss needs dims containing 'y' and 'x', got {red}")
    other = [d for d in f.dims if d not in ("y", "x")]
    f = f.transpose(*other, "y", "x")
    t = t.transpose(*other, "y", "x")
    ok = (np.isfinite(f.values) & np.isfinite(t.values)).astype(float)
    fe = ((f.values >= threshold) & (ok > 0)).astype(float)
    te = ((t.values >= threshold) & (ok > 0)).astype(float)
    nvalid = _box_mean(ok, scale)
    has = nvalid > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        pf = np.where(has, _box_mean(fe, scale) / nvalid, 0.0)
        po = np.where(has, _box_mean(te, scale) / nvalid, 0.0)
    da = xr.DataArray(np.stack([(pf - po) ** 2, pf ** 2 + po ** 2, has.astype(float)]),
                      dims=("part", *other, "y", "x"))
    sums = da.sum([d for d in red])
    num, den = sums.isel(part=0), sums.isel(part=1)
    out = 1.0 - num / den.where(den > 0)
    keep = [d for d in other if d not in red]
    out = out.assign_coords({d: f[d] for d in keep if d in f.coords})
    out.attrs = {"long_name": f"fractions skill score at {threshold}, scale {scale}",
                 "units": "1"}
    return out.rename("fss")


def dice(pred: ArrayLike, truth: ArrayLike, classes: Sequence[int] | None = None,
         dims: Dims = None) -> xr.DataArray:
    """Dice coefficient ``2 |P & T| / (|P| + |T|)`` per class of integer class masks.

    Parameters
    ----------
    pred, truth
        Integer class labels on the same grid (NaN, if float, marks pixels to ignore).
    classes
        Classes to score (default: every class present in either mask).
    dims
        Dims to reduce over (default: all, one score per class).

    Returns
    -------
    xarray.DataArray
        Dims ``("class", *kept dims)``; NaN for a class absent from both masks.
    """
    p, t, red = _pair(pred, truth, dims)
    ok = _valid(p, t)
    for arr, what in ((p, "pred"), (t, "truth")):
        vals = arr.values[ok.values]
        if vals.size and not np.all(np.equal(np.mod(vals, 1), 0)):
            raise ValueError(f"{what} must hold integer class labels, got non-integer values")
    if not ok.any():
        raise ValueError("dice: no pixel is valid in both pred and truth")
    if classes is None:
        classes = sorted(set(np.unique(p.values[ok.values]).astype(int).tolist())
                         | set(np.unique(t.values[ok.values]).astype(int).tolist()))
    scores = []
    for c in classes:
        pc, tc = (p == c) & ok, (t == c) & ok
        inter = (pc & tc).sum(red)
        tot = pc.sum(red) + tc.sum(red)
        scores.append((2.0 * inter / tot.where(tot > 0)).astype(float))
    out = xr.concat(scores, dim="class").assign_coords({"class": list(classes)})
    out.attrs = {"long_name": "Dice coefficient", "units": "1"}
    return out.rename("dice")


def mean_dice(pred: ArrayLike, truth: ArrayLike, classes: Sequence[int] | None = None) -> float:
    """Mean over classes of :func:`dice` on the whole data (classes absent from both skipped)."""
    return float(np.nanmean(dice(pred, truth, classes, dims=None).values))


def relative_motion_error(u: ArrayLike, v: ArrayLike, u_true: ArrayLike, v_true: ArrayLike,
                          mask: ArrayLike | None = None) -> float:
    """``sqrt(sum |d - d*|^2) / sqrt(sum |d*|^2)`` over the (masked, finite) pixels.

    Parameters
    ----------
    u, v
        Estimated motion (along x, along y).
    u_true, v_true
        True motion on the same grid.
    mask
        Optional boolean array, true where the pixel counts (e.g. the interior).
    """
    arrs = [np.asarray(a, dtype=float) for a in (u, v, u_true, v_true)]
    if len({a.shape for a in arrs}) != 1:
        raise ValueError(f"motion components have different shapes: {[a.shape for a in arrs]}")
    ok = np.all([np.isfinite(a) for a in arrs], axis=0)
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != ok.shape:
            raise ValueError(f"mask shape {m.shape} differs from the motion shape {ok.shape}")
        ok &= m
    if not ok.any():
        raise ValueError("relative_motion_error: no valid pixel")
    du, dv = arrs[0] - arrs[2], arrs[1] - arrs[3]
    num = np.sum(du[ok] ** 2 + dv[ok] ** 2)
    den = np.sum(arrs[2][ok] ** 2 + arrs[3][ok] ** 2)
    if den == 0:
        raise ValueError("relative_motion_error: the true motion is zero everywhere")
    return float(np.sqrt(num / den))
