"""Rank models by how the SOM classification of their monthly maps matches the observations.

Patterns: each monthly map (all grid points of one month) of the observations and of
every model is one SOM sample, so 12 x (1 + n_models) samples with one feature per grid
point (NaN, e.g. land, allowed). After training, each dataset is the distribution of its
12 patterns over the (month, map unit) space: mass 1/12 at ``(m, bmu_m)`` for each month m.

Distance between a model's distribution and the observations': the Wasserstein-1 (optimal
transport) distance with ground cost

``c((m, u), (m', u')) = |r_u - r_u'| + lambda * circ(m - m')``

where ``|r_u - r_u'|`` is the distance between the units on the map grid and
``circ(m - m')`` the circular month difference. Transporting a pattern to another unit
costs its map distance; matching it with another month costs ``lambda`` per month. A
pure timing error of p months thus costs at most ``lambda * p`` (linear in p), whereas
RMSE (and month-by-month matching) punishes a timing error twice, once where the
pattern should be and once where it is (the double penalty), and saturates. ``lambda``
is ``month_cost`` times the observations' mean step on the map from one month to the
next, so it scales with the map size. With 12 equal masses on each side the
transport is an optimal assignment of months, solved exactly (Hungarian algorithm).

Classes: the codebook is also cut into ``n_classes`` classes (Ward), reported per
dataset and month for the figures and the class-agreement score.
"""

from __future__ import annotations

import logging

import numpy as np
import xarray as xr

from ..som import SOM
from .inputs import check_climatologies
from .metrics import rankdata
from .transport import transport_distance

log = logging.getLogger(__name__)

__all__ = ["som_ranking"]


def som_ranking(obs: xr.DataArray, models: xr.DataArray, *,
                som_shape: tuple[int, int] = (8, 8), n_epochs: int = 40,
                month_cost: float = 0.35, n_classes: int = 6, seed: int = 0
                ) -> tuple[xr.Dataset, SOM]:
    """SOM ranking of model climatologies against an observed one.

    Parameters
    ----------
    obs : xarray.DataArray
        Observed climatology: dim ``month`` (12) plus spatial dims (e.g. lat, lon).
    models : xarray.DataArray
        Model climatologies: the same dims plus ``model``.
    som_shape : (int, int)
        Map rows and columns; the map must have fewer units than the 12 x (1 + models)
        patterns.
    n_epochs : int
        Batch epochs.
    month_cost : float
        Cost of one month of timing difference, in units of the observations' mean
        monthly step on the map (see the module docstring).
    n_classes : int
        Classes cut from the codebook for the class sequences.
    seed : int
        SOM seed.

    Returns
    -------
    (xarray.Dataset, SOM)
        ``score`` (model; transport distance, lower = closer), ``rank`` (1 = best),
        ``class_agreement`` (model; fraction of months in the observed class),
        ``bmu`` and ``pattern_class`` (dataset, month) with dataset 0 = observations.
    """
    obs, models = check_climatologies(obs, models)
    if month_cost < 0:
        raise ValueError(f"month_cost must be >= 0, got {month_cost}")
    n_mod = models.sizes["model"]
    n_ds = n_mod + 1
    rows, cols = som_shape
    n_pat = 12 * n_ds
    if rows * cols >= n_pat:
        raise ValueError(f"SOM grid {rows}x{cols} = {rows * cols} units is too large for "
                         f"{n_pat} monthly patterns (12 x {n_ds} datasets): use fewer units")
    if not 1 <= n_classes <= rows * cols:
        raise ValueError(f"n_classes must be in 1..{rows * cols}, got {n_classes}")
    X = np.concatenate([obs.values[None], models.values]).reshape(n_pat, -1)
    keep = ~np.isnan(X).all(axis=0)  # grid points never observed (land) are dropped
    X = X[:, keep]
    som = SOM(rows, cols, n_epochs=n_epochs, seed=seed, progress=False).fit(X)
    bmu = som.bmu(X).reshape(n_ds, 12)
    rc = som.unit_coords
    grid = np.linalg.norm(rc[:, None, :] - rc[None, :, :], axis=-1)
    step = float(grid[bmu[0], np.roll(bmu[0], 1)].mean())
    lam = month_cost * (step if step > 0 else 1.0)
    months = np.arange(12)
    dm = np.abs(months[:, None] - months[None, :])
    dm = np.minimum(dm, 12 - dm)
    score = np.array([transport_distance(grid[bmu[i + 1]][:, bmu[0]] + lam * dm)
                      for i in range(n_mod)])
    unit_class = som.cluster(n_classes)
    pclass = unit_class[bmu]
    agree = (pclass[1:] == pclass[0][None, :]).mean(axis=1)
    log.info("SOM ranking: month cost %.3g map units (obs monthly step %.3g)", lam, step)
    dataset = ["obs", *[str(m) for m in models["model"].values]]
    out = xr.Dataset(
        {"score": ("model", score, {"units": "1", "long_name":
                                    "transport distance to the observations on the SOM"}),
         "rank": ("model", rankdata(score), {"units": "1", "long_name":
                                             "SOM rank (1 = best)"}),
         "class_agreement": ("model", agree, {"units": "1", "long_name":
                                              "fraction of months in the observed class"}),
         "bmu": (("dataset", "month"), bmu, {"long_name": "best-matching unit"}),
         "pattern_class": (("dataset", "month"), pclass,
                           {"long_name": "class of the monthly pattern"})},
        coords={"model": models["model"], "dataset": dataset,
                "month": obs["month"].values},
        attrs={"month_cost_map_units": lam, "obs_monthly_step": step})
    return out, som
