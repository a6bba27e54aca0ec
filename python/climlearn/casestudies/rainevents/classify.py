"""Event classes: a SOM on the kept indicators, its codebook cut by hierarchical clustering."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from ..som import SOM
from .selection import standardize

__all__ = ["classify_events"]


def classify_events(indicators: xr.DataArray, selected: Sequence[str], *,
                    n_classes: int = 2, som_shape: tuple[int, int] = (8, 8),
                    n_epochs: int = 20, method: str = "ward", seed: int = 0
                    ) -> tuple[xr.DataArray, SOM]:
    """Classify events with a SOM trained on the ``selected`` indicators.

    Parameters
    ----------
    indicators : xarray.DataArray
        (event, indicator) raw indicators; standardised here.
    selected : sequence of str
        Indicator names to train on (for example :attr:`SelectionResult.selected`).
    n_classes : int
        Classes cut from the codebook's hierarchical clustering.
    som_shape : (int, int)
        Map rows and columns.
    n_epochs : int
        Batch epochs.
    method : str
        Linkage of the codebook clustering (``"ward"``, ``"average"``, ...).
    seed : int
        SOM seed.

    Returns
    -------
    (xarray.DataArray, SOM)
        Class (0 .. n_classes-1) per event, and the trained map. Classes are numbered by
        increasing mean of the first selected indicator, so the numbering is stable.
    """
    z = standardize(indicators)
    names = [str(v) for v in z["indicator"].values]
    selected = list(selected)
    if not selected:
        raise ValueError("selected is empty: keep at least one indicator")
    unknown = [s for s in selected if s not in names]
    if unknown:
        raise ValueError(f"unknown indicator(s) {unknown}; valid: {', '.join(names)}")
    rows, cols = som_shape
    if rows * cols > z.sizes["event"]:
        raise ValueError(f"SOM grid {rows}x{cols} = {rows * cols} units is too large for "
                         f"{z.sizes['event']} events: use at most {z.sizes['event']} units")
    if not 1 <= n_classes <= rows * cols:
        raise ValueError(f"n_classes must be in 1..{rows * cols} (map units), got "
                         f"{n_classes}")
    zs = z.sel(indicator=selected).values
    som = SOM(rows, cols, n_epochs=n_epochs, seed=seed, progress=False).fit(zs)
    unit_class = som.cluster(n_classes, method=method)
    cls = unit_class[som.bmu(zs)]
    # renumber by the mean of the first selected indicator (stable numbering)
    means = [np.nanmean(zs[cls == k, 0]) if np.any(cls == k) else np.inf
             for k in range(n_classes)]
    order = np.argsort(means, kind="stable")
    remap = np.empty(n_classes, dtype=np.int64)
    remap[order] = np.arange(n_classes)
    out = xr.DataArray(remap[cls], dims="event", coords={"event": z["event"]},
                       attrs={"long_name": "event class from SOM + hierarchical clustering",
                              "units": "1", "indicators": ",".join(selected)})
    return out, som
