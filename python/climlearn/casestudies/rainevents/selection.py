"""Genetic selection of rain-event indicators by masked-BMU reconstruction (Dilmi et al. 2017).

A SOM is trained on all N standardised indicators. For a candidate subset S (a boolean
mask), each event's best-matching unit is found from the components in S only (the other
components are set missing, so the SOM's masked distance ignores them); the unit's
codebook vector then reconstructs all N indicators. The fitness to minimise is

``fitness(S) = sum_j w_j mse_j(S) / sum_j w_j + penalty * |S|``

with ``mse_j`` the mean over events of ``(z_j - z_hat_j)^2`` for the standardised
indicators ``z``. With uniform weights ``w_j = 1`` this is Dilmi et al.'s criterion, but
a map trained on all N also encodes the pure-noise indicators, so keeping a noise
indicator "reconstructs" it (itself) and the GA keeps noise. The default weights
(:func:`shared_information`) are the share of each indicator's variance that the OTHER
indicators reconstruct: close to 1 for informative indicators, close to 0 for noise,
which then no longer pays for its place. A redundant indicator adds nothing its original
does not already give, so the size penalty drops it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..som import SOM
from .ga import GAConfig, GAResult, genetic_select

log = logging.getLogger(__name__)

WEIGHTINGS = ("shared", "uniform")

__all__ = ["standardize", "masked_reconstruction_error", "shared_information", "SelectionResult",
           "select_indicators", "check_indicators"]


def check_indicators(indicators: xr.DataArray, min_events: int = 2) -> xr.DataArray:
    """Validate an (event, indicator) DataArray and return it in that dim order."""
    if not isinstance(indicators, xr.DataArray):
        raise TypeError(f"indicators must be an xarray.DataArray with dims ('event', "
                        f"'indicator'), got {type(indicators).__name__}")
    if set(indicators.dims) != {"event", "indicator"}:
        raise ValueError(f"indicators must have dims ('event', 'indicator'), got "
                         f"{indicators.dims}")
    ind = indicators.transpose("event", "indicator")
    n_ev, n_ind = ind.shape
    if n_ev < min_events:
        raise ValueError(f"need at least {min_events} events, got {n_ev}")
    if n_ind < 2:
        raise ValueError(f"need at least 2 indicators, got {n_ind}")
    vals = ind.values
    if np.isinf(vals).any():
        raise ValueError("indicators contain infinite values")
    empty = np.flatnonzero(np.isnan(vals).all(axis=1))
    if empty.size:
        raise ValueError(f"{empty.size} event(s) have no observed indicator (all NaN), "
                         f"first: {empty[:10].tolist()}")
    return ind


def standardize(indicators: xr.DataArray) -> xr.DataArray:
    """Log10 the indicators flagged ``log_transform`` (if that coordinate exists), then
    z-score each indicator (NaN kept). Constant indicators get a zero column."""
    ind = check_indicators(indicators)
    vals = ind.values.astype(np.float64).copy()
    if "log_transform" in ind.coords:
        logs = np.asarray(ind["log_transform"].values, dtype=bool)
        pos = vals[:, logs]
        if np.any(pos[np.isfinite(pos)] <= 0):
            raise ValueError("indicators flagged log_transform must be > 0")
        vals[:, logs] = np.log10(pos)
    mean = np.nanmean(vals, axis=0)
    std = np.nanstd(vals, axis=0)
    std[~(std > 0)] = 1.0
    z = (vals - mean) / std
    out = ind.copy(data=z)
    out.attrs = {"long_name": "standardised rain event indicators", "units": "1"}
    return out


def masked_reconstruction_error(som: SOM, z: np.ndarray, mask: np.ndarray,
                                weights: np.ndarray | None = None) -> float:
    """Mean squared error of reconstructing all columns of ``z`` from the codebook of the
    best-matching unit found on the columns in ``mask`` only.

    NaN entries of ``z`` are left out; ``weights`` (per column, default 1) weight the
    per-column mean squared errors in the average.
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        raise ValueError("the mask selects no indicator")
    zm = np.where(mask[None, :], z, np.nan)
    keep = ~np.isnan(zm).all(axis=1)
    recon = som.codebook[som.bmu(zm[keep])]
    per_col = np.nanmean((recon - z[keep]) ** 2, axis=0)
    if weights is None:
        return float(per_col.mean())
    return float(np.sum(weights * per_col) / np.sum(weights))


def shared_information(som: SOM, z: np.ndarray) -> np.ndarray:
    """Share of each column's variance that the OTHER columns reconstruct.

    ``w_j = clip(1 - mse_j / var_j, 0, 1)`` where ``mse_j`` is the error of column j
    reconstructed through the best-matching unit found without column j. A pure-noise
    indicator gets a weight near 0: no subset can reconstruct it from the others, so it
    should not drive the choice.
    """
    n_col = z.shape[1]
    w = np.empty(n_col)
    for j in range(n_col):
        mask = np.ones(n_col, bool)
        mask[j] = False
        zm = np.where(mask[None, :], z, np.nan)
        recon = som.codebook[som.bmu(zm), j]
        w[j] = 1.0 - np.nanmean((recon - z[:, j]) ** 2) / max(np.nanvar(z[:, j]), 1e-12)
    return np.clip(w, 0.0, 1.0)


@dataclass
class SelectionResult:
    """Indicators kept by :func:`select_indicators`.

    Attributes
    ----------
    selected : list of str
        Names of the kept indicators.
    mask : xarray.DataArray
        Boolean (indicator) mask of the kept ones.
    reconstruction_mse : float
        Masked-BMU reconstruction error of all indicators from the kept ones.
    full_mse : float
        The same error with every indicator used for the BMU (the floor).
    weights : xarray.DataArray
        (indicator) weights of the reconstruction error.
    ga : GAResult
        The genetic algorithm's record.
    som : SOM
        The map trained on all indicators.
    """

    selected: list[str]
    mask: xr.DataArray
    reconstruction_mse: float
    full_mse: float
    weights: xr.DataArray
    ga: GAResult
    som: SOM


def select_indicators(indicators: xr.DataArray, *, som_shape: tuple[int, int] = (8, 8),
                      n_epochs: int = 15, penalty: float = 0.01,
                      weighting: str = "shared", ga: GAConfig | None = None, seed: int = 0,
                      progress: bool | None = None) -> SelectionResult:
    """Select indicators by genetic algorithm and masked-BMU reconstruction.

    Parameters
    ----------
    indicators : xarray.DataArray
        (event, indicator) raw indicators (see :func:`make_events`); standardised here.
    som_shape : (int, int)
        Rows and columns of the map trained on all indicators.
    n_epochs : int
        Batch epochs of that map.
    penalty : float
        Fitness cost of each kept indicator (in units of the standardised MSE).
    weighting : {"shared", "uniform"}
        Weights of the indicators in the reconstruction error: ``"shared"`` weights each
        by the share of its variance the other indicators reconstruct
        (:func:`shared_information`; pure noise gets ~0), ``"uniform"`` weights all alike.
    ga : GAConfig, optional
        Genetic-algorithm settings.
    seed : int
        Seed of the SOM and of the genetic algorithm.
    progress : bool, optional
        tqdm bar over generations (default: only on a TTY).

    Returns
    -------
    SelectionResult
    """
    z = standardize(indicators)
    n_ev, n_ind = z.shape
    rows, cols = som_shape
    if rows * cols > n_ev:
        raise ValueError(f"SOM grid {rows}x{cols} = {rows * cols} units is too large for "
                         f"{n_ev} events: use at most {n_ev} units")
    if penalty < 0:
        raise ValueError(f"penalty must be >= 0, got {penalty}")
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}; valid: {', '.join(WEIGHTINGS)}")
    zv = z.values
    som = SOM(rows, cols, n_epochs=n_epochs, seed=seed, progress=False).fit(zv)
    w = shared_information(som, zv) if weighting == "shared" else np.ones(n_ind)
    if not w.sum() > 0:
        raise ValueError("no indicator is reconstructed by the others (all weights 0)")
    full = masked_reconstruction_error(som, zv, np.ones(n_ind, bool), w)

    def fitness(mask: np.ndarray) -> float:
        return masked_reconstruction_error(som, zv, mask, w) + penalty * mask.sum()

    res = genetic_select(fitness, n_ind, ga, seed=seed, progress=progress)
    names = [str(v) for v in z["indicator"].values]
    selected = [names[i] for i in np.flatnonzero(res.best)]
    log.info("GA kept %d indicators after %d evaluations: %s", len(selected),
             res.n_evaluations, ", ".join(selected))
    weights = xr.DataArray(w, dims="indicator", coords={"indicator": z["indicator"]},
                           attrs={"long_name": "weight of the indicator in the fitness",
                                  "units": "1"})
    mask = xr.DataArray(res.best, dims="indicator", coords={"indicator": z["indicator"]},
                        attrs={"long_name": "indicator kept by the genetic selection"})
    return SelectionResult(selected=selected, mask=mask,
                           reconstruction_mse=masked_reconstruction_error(som, zv, res.best,
                                                                          w),
                           full_mse=full, weights=weights, ga=res, som=som)
