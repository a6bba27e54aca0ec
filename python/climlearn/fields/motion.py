"""Classical dense motion estimation: pyramidal Lucas-Kanade with iterative warping.

For a sequence of maps the motion ``d = (u, v)`` (pixels per step, steady over the
sequence) minimises, around every pixel, the Gaussian-weighted misfit
``sum_t w * (warp(I_{t-1}, d) - I_t)**2`` (see :mod:`climlearn.fields.warp` for the
warping convention). Each iteration linearises the warped map, ``warp(I, d + delta) ~
W - grad(W) . delta``, and solves the local 2x2 normal equations (with a small Tikhonov
term where the structure tensor is weak), summing the equations of all pairs of
consecutive maps. A coarse-to-fine pyramid handles displacements of several pixels;
a confidence-weighted Gaussian smoothing fills textureless regions.

Missing pixels (NaN, e.g. clouds) get zero weight: the motion is estimated on observed
pixels only, and is dense everywhere (filled from the neighbourhood and coarser levels).

This is our own implementation of the method (Lucas & Kanade 1981; Bouguet's pyramid).
"""

from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
import xarray as xr

from .warp import extrapolate, warp

__all__ = ["MOTION_METHODS", "estimate_motion", "extrapolation_forecast",
           "get_motion_method", "lucas_kanade"]

log = logging.getLogger(__name__)


def _gauss(a: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian smoothing of ``(N, H, W)`` with replicated borders."""
    r = max(1, int(np.ceil(3 * sigma)))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=a.dtype) / sigma) ** 2)
    k = k / k.sum()
    x = a[:, None]
    x = F.pad(x, (r, r, 0, 0), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, -1))
    x = F.pad(x, (0, 0, r, r), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, -1, 1))
    return x[:, 0]


def _down(a: torch.Tensor) -> torch.Tensor:
    """NaN-aware 2x2 average pooling of ``(N, H, W)`` (odd sizes: last row/col dropped)."""
    ok = torch.isfinite(a)
    z = torch.where(ok, a, torch.zeros_like(a))
    s = F.avg_pool2d(z[:, None], 2)[:, 0]
    n = F.avg_pool2d(ok.to(a.dtype)[:, None], 2)[:, 0]
    return torch.where(n > 0, s / n.clamp(min=1e-12), torch.full_like(s, float("nan")))


def _up(d: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Upsample a motion component to ``(h, w)`` and scale it (pixels double)."""
    out = F.interpolate(d[None, None], size=(h, w), mode="bilinear", align_corners=False)
    return out[0, 0] * (h / d.shape[0] + w / d.shape[1]) / 2


def _grad(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Central differences (one-sided at the edges); NaN propagates."""
    gx = torch.empty_like(a)
    gy = torch.empty_like(a)
    gx[..., 1:-1] = (a[..., 2:] - a[..., :-2]) / 2
    gx[..., 0] = a[..., 1] - a[..., 0]
    gx[..., -1] = a[..., -1] - a[..., -2]
    gy[..., 1:-1, :] = (a[..., 2:, :] - a[..., :-2, :]) / 2
    gy[..., 0, :] = a[..., 1, :] - a[..., 0, :]
    gy[..., -1, :] = a[..., -1, :] - a[..., -2, :]
    return gx, gy


def _level(frames: torch.Tensor, u: torch.Tensor, v: torch.Tensor, sigma: float,
           iterations: int, reg: float) -> tuple[torch.Tensor, torch.Tensor]:
    prev, nxt = frames[:-1], frames[1:]
    for _ in range(iterations):
        wp = warp(prev, u, v, "border")
        gx, gy = _grad(wp)
        r = wp - nxt
        ok = torch.isfinite(gx) & torch.isfinite(gy) & torch.isfinite(r)
        m = ok.to(frames.dtype)
        gx, gy, r = (torch.where(ok, t, torch.zeros_like(t)) for t in (gx, gy, r))
        terms = torch.stack([gx * gx, gx * gy, gy * gy, gx * r, gy * r, m]).sum(1)
        axx, axy, ayy, bx, by, cnt = _gauss(terms, sigma)
        trace = axx + ayy
        lam = reg * float(trace.mean()) + 1e-12
        det = (axx + lam) * (ayy + lam) - axy ** 2
        du = ((ayy + lam) * bx - axy * by) / det
        dv = ((axx + lam) * by - axy * bx) / det
        du, dv = du.clamp(-1, 1), dv.clamp(-1, 1)
        u, v = u + du, v + dv
        # confidence: smallest eigenvalue of the structure tensor (zero where no data)
        conf = (trace / 2 - torch.sqrt(((axx - ayy) / 2) ** 2 + axy ** 2)).clamp(min=0)
        conf = conf * (cnt > 1e-6)
        sm = _gauss(torch.stack([conf * u, conf * v, conf]), sigma)
        filled = sm[2] > 1e-12
        u = torch.where(filled, sm[0] / sm[2].clamp(min=1e-12), u)
        v = torch.where(filled, sm[1] / sm[2].clamp(min=1e-12), v)
    return u, v


def lucas_kanade(frames: np.ndarray, levels: int | None = None, sigma: float = 2.5,
                 iterations: int = 4, reg: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    """Dense steady motion of a ``(time, H, W)`` stack of maps (NaN = missing).

    Parameters
    ----------
    frames
        At least two maps, oldest first.
    levels
        Pyramid levels (default: as many as keep the coarsest side >= 10 pixels, at
        most 4).
    sigma
        Standard deviation (pixels) of the Gaussian window at every level.
    iterations
        Warp-and-solve iterations per level.
    reg
        Tikhonov term relative to the mean trace of the structure tensor.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``u`` (along x) and ``v`` (along y), shape ``(H, W)``, pixels per step.
    """
    a = torch.as_tensor(np.asarray(frames, dtype=np.float64))
    finite = torch.isfinite(a)
    mu = a[finite].mean()
    sd = a[finite].std().clamp(min=1e-12)
    a = (a - mu) / sd
    h, w = a.shape[-2:]
    if levels is None:
        levels = 1
        while min(h, w) // 2 ** levels >= 10 and levels < 4:
            levels += 1
    pyr = [a]
    for _ in range(levels - 1):
        pyr.append(_down(pyr[-1]))
    u = torch.zeros(pyr[-1].shape[-2:], dtype=a.dtype)
    v = torch.zeros_like(u)
    with torch.no_grad():
        for lev in reversed(range(levels)):
            img = pyr[lev]
            if u.shape != img.shape[-2:]:
                u = _up(u, *img.shape[-2:])
                v = _up(v, *img.shape[-2:])
            u, v = _level(img, u, v, sigma, iterations, reg)
    return u.numpy(), v.numpy()


MOTION_METHODS = {"lucas_kanade": lucas_kanade}


def get_motion_method(name: str):  # noqa: ANN201 - returns one of MOTION_METHODS
    """Return the motion estimator ``name`` (one of :data:`MOTION_METHODS`)."""
    try:
        return MOTION_METHODS[name]
    except KeyError:
        raise ValueError(f"unknown motion method {name!r}; valid names: "
                         f"{sorted(MOTION_METHODS)}") from None


def _check_frames(frames: xr.DataArray) -> None:
    if not isinstance(frames, xr.DataArray):
        raise TypeError(f"frames must be an xarray.DataArray, got {type(frames).__name__}")
    if frames.dims != ("time", "y", "x"):
        raise ValueError(f"frames must have dims ('time', 'y', 'x'), got {frames.dims}")
    if frames.sizes["time"] < 2:
        raise ValueError(f"need at least 2 maps to estimate motion, got {frames.sizes['time']}")
    if min(frames.sizes["y"], frames.sizes["x"]) < 4:
        raise ValueError(f"maps must be at least 4x4, got {frames.shape[1:]}")
    nvalid = np.isfinite(frames.values).sum(axis=(1, 2))
    empty = np.flatnonzero(nvalid == 0)
    if empty.size:
        raise ValueError(f"maps at time indices {empty.tolist()} have no valid pixel "
                         "(all missing)")


def estimate_motion(frames: xr.DataArray, method: str = "lucas_kanade",
                    **kwargs: float) -> xr.Dataset:
    """Estimate the steady motion of a ``(time, y, x)`` sequence (observed pixels only).

    Parameters
    ----------
    frames
        Maps, oldest first, NaN for missing pixels.
    method
        One of :data:`MOTION_METHODS`.
    **kwargs
        Passed to the method (e.g. ``sigma``, ``levels`` for Lucas-Kanade).

    Returns
    -------
    xarray.Dataset
        ``u`` and ``v`` with dims ``(y, x)``, pixels per time step.
    """
    _check_frames(frames)
    fn = get_motion_method(method)
    u, v = fn(frames.values, **kwargs)
    coords = {k: frames.coords[k] for k in ("y", "x") if k in frames.coords}
    return xr.Dataset(
        {"u": (("y", "x"), u, {"units": "1", "long_name": "motion along x (pixels per step)"}),
         "v": (("y", "x"), v, {"units": "1", "long_name": "motion along y (pixels per step)"})},
        coords=coords, attrs={"method": method})


def extrapolation_forecast(frames: xr.DataArray, n_leads: int,
                           method: str = "lucas_kanade", boundary: str = "border",
                           motion: xr.Dataset | None = None) -> xr.DataArray:
    """Optical-flow nowcast: estimate the motion, then extrapolate the last map.

    Parameters
    ----------
    frames
        Past maps ``(time, y, x)``, oldest first, NaN for missing pixels.
    n_leads
        Number of steps ahead.
    method
        Motion estimator (ignored when ``motion`` is given).
    boundary
        Warping boundary, see :mod:`climlearn.fields.warp`.
    motion
        A motion field to use instead of estimating one.

    Returns
    -------
    xarray.DataArray
        Forecast with dims ``("lead", "y", "x")``.
    """
    _check_frames(frames)
    if motion is None:
        motion = estimate_motion(frames, method)
    return extrapolate(frames.isel(time=-1, drop=True), motion, n_leads, boundary)
