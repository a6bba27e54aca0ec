"""DINEOF: gap filling by iterative truncated EOF reconstruction.

Beckers & Rixen (2003), Alvera-Azcarate et al. (2005). The stack is a matrix
``X (time, space)``; missing values start at the mean, then for ``k = 1, 2, ...`` modes
the truncated SVD of ``X`` replaces the missing values until they stop changing. A small
random fraction of the observed pixels is set aside as missing; the number of modes
with the lowest error on them is kept, and the final reconstruction uses all observed
pixels with that many modes.
"""

from __future__ import annotations

import logging
import time as _time

import numpy as np
import xarray as xr

from .data import check_stack

log = logging.getLogger(__name__)

__all__ = ["dineof"]


def _truncate(x: np.ndarray, k: int) -> np.ndarray:
    """Rank-``k`` truncated SVD of ``x``, through the eigenvectors of the smaller Gram
    matrix (cheap when one side, usually time, is short)."""
    if x.shape[0] <= x.shape[1]:
        _, vec = np.linalg.eigh(x @ x.T)
        uk = vec[:, ::-1][:, :k]
        return uk @ (uk.T @ x)
    _, vec = np.linalg.eigh(x.T @ x)
    vk = vec[:, ::-1][:, :k]
    return (x @ vk) @ vk.T


def _svd_fill(x: np.ndarray, miss: np.ndarray, k: int, tol: float, max_iter: int,
              scale: float) -> tuple[np.ndarray, int, float]:
    """Iterate truncated-SVD replacement of ``x[miss]`` (in place); return the rank-k
    reconstruction, the iterations used and the last relative change."""
    change = np.inf
    rec = x
    for it in range(1, max_iter + 1):
        rec = _truncate(x, k)
        new = rec[miss]
        change = float(np.sqrt(np.mean((new - x[miss]) ** 2))) / scale if new.size else 0.0
        x[miss] = new
        if change < tol:
            return rec, it, change
    return rec, max_iter, change


def dineof(data: xr.DataArray, max_modes: int = 20, cv_fraction: float = 0.03,
           tol: float = 1e-3, max_iter: int = 300, patience: int = 3,
           seed: int = 0) -> xr.Dataset:
    """Fill the gaps of a ``(time, y, x)`` stack with DINEOF.

    Parameters
    ----------
    data
        Maps with NaN where missing. Pixels never observed (land) stay NaN; a map with no
        observed pixel is rejected.
    max_modes
        Largest number of EOF modes tried (capped at ``min(time, pixels) - 1``).
    cv_fraction
        Fraction of the observed pixels set aside to choose the number of modes.
    tol
        Convergence: stop iterating when the RMS change of the missing values, divided
        by the standard deviation of the observed values, falls below ``tol`` (1e-3,
        the default ``toliter`` of DINEOF; stopping early also regularises the
        reconstruction at large cloud cover).
    max_iter
        Iteration cap per number of modes.
    patience
        Stop adding modes after the cross-validation error has not improved (by at least
        0.1 %) for this many modes, or at once when it is at rounding level.
    seed
        Seed of the cross-validation set.

    Returns
    -------
    xarray.Dataset
        ``filled`` (observed values kept, gaps reconstructed), ``reconstruction`` (the
        truncated EOF field everywhere) and ``cv_rmse`` (dim ``mode``: cross-validation
        RMSE per number of modes). Attributes ``n_modes`` (chosen), ``cv_rmse_best``,
        ``iterations`` and ``seconds``.

    Raises
    ------
    TypeError, ValueError
        Malformed input (see :func:`climlearn.casestudies.gapfill.data.check_stack`), or
        bad parameters.
    """
    data = check_stack(data, "dineof data")
    if not 0.0 < cv_fraction < 0.5:
        raise ValueError(f"cv_fraction must lie in (0, 0.5), got {cv_fraction}")
    if max_modes < 1 or max_iter < 1 or patience < 1 or tol <= 0:
        raise ValueError(f"need max_modes, max_iter, patience >= 1 and tol > 0, got "
                         f"max_modes={max_modes}, max_iter={max_iter}, patience={patience}, "
                         f"tol={tol}")
    t0 = _time.perf_counter()
    nt, ny, nx = data.shape
    vals = np.asarray(data.values, dtype=float).reshape(nt, ny * nx)
    sea = np.isfinite(vals).any(axis=0)              # pixels observed at least once
    x_obs = vals[:, sea]
    seen = np.isfinite(x_obs)
    mean = float(x_obs[seen].mean())
    scale = float(x_obs[seen].std()) or 1.0
    kmax = int(min(max_modes, min(x_obs.shape) - 1))
    if kmax < 1:
        raise ValueError(f"the stack is too small for DINEOF: {nt} maps x {int(sea.sum())} "
                         f"observed pixels")

    rng = np.random.default_rng(seed)
    obs_idx = np.flatnonzero(seen)
    n_cv = max(1, int(round(cv_fraction * obs_idx.size)))
    cv_idx = rng.choice(obs_idx, size=n_cv, replace=False)
    cv = np.zeros(seen.shape, dtype=bool)
    cv.flat[cv_idx] = True
    miss_cv = ~seen | cv
    x = np.where(miss_cv, 0.0, x_obs - mean)
    target = x_obs[cv] - mean

    errors: list[float] = []
    iters = 0
    best_k, best_err, since_best = 1, np.inf, 0
    for k in range(1, kmax + 1):
        rec, it, change = _svd_fill(x, miss_cv, k, tol, max_iter, scale)
        iters += it
        err = float(np.sqrt(np.mean((rec[cv] - target) ** 2)))
        errors.append(err)
        log.info("dineof: %d modes, %d iterations (change %.2e), CV RMSE %.4g", k, it,
                 change, err)
        if err < best_err * (1.0 - 1e-3):  # a mode must lower the CV error by 0.1 %
            best_k, best_err, since_best = k, err, 0
            if err <= 1e-9 * scale:  # exact to rounding: more modes cannot help
                break
        else:
            since_best += 1
            if since_best >= patience:
                break

    # final reconstruction with every observed pixel and the chosen number of modes
    x = np.where(seen, x_obs - mean, 0.0)
    miss = ~seen
    for k in range(1, best_k + 1):
        rec, it, _ = _svd_fill(x, miss, k, tol, max_iter, scale)
        iters += it
    filled_obs = np.where(seen, x_obs, x + mean)
    full = np.full((nt, ny * nx), np.nan)
    full[:, sea] = filled_obs
    recon = np.full((nt, ny * nx), np.nan)
    recon[:, sea] = rec + mean
    seconds = _time.perf_counter() - t0

    attrs = dict(data.attrs)
    filled = xr.DataArray(full.reshape(nt, ny, nx), dims=data.dims, coords=data.coords,
                          attrs={**attrs, "long_name": f"{attrs.get('long_name', 'field')}"
                                 " gap-filled by DINEOF"})
    recon_da = xr.DataArray(recon.reshape(nt, ny, nx), dims=data.dims, coords=data.coords,
                            attrs={**attrs, "long_name": f"{best_k}-mode EOF reconstruction"})
    cv_da = xr.DataArray(np.asarray(errors), dims="mode",
                         coords={"mode": np.arange(1, len(errors) + 1)},
                         attrs={"units": attrs.get("units", "1"),
                                "long_name": "cross-validation RMSE per number of EOF modes"})
    out = xr.Dataset({"filled": filled, "reconstruction": recon_da, "cv_rmse": cv_da})
    out.attrs = {"method": "DINEOF", "n_modes": int(best_k), "cv_rmse_best": best_err,
                 "cv_fraction": float(cv_fraction), "iterations": int(iters),
                 "seconds": float(seconds)}
    log.info("dineof: %d modes chosen (CV RMSE %.4g), %d iterations, %.2f s", best_k,
             best_err, iters, seconds)
    return out
