"""Checks of the climatology inputs of the ranking."""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["check_climatologies"]


def check_climatologies(obs: xr.DataArray, models: xr.DataArray
                        ) -> tuple[xr.DataArray, xr.DataArray]:
    """Validate an observed and a modelled climatology and align their dims.

    ``obs`` needs a ``month`` dim of length 12 and at least one spatial dim; ``models``
    the same dims plus ``model`` (at least 2 models). No month map may be all NaN.
    Returns ``obs`` with dims ``(month, *space)`` and ``models`` with
    ``(model, month, *space)``.
    """
    for name, da in (("obs", obs), ("models", models)):
        if not isinstance(da, xr.DataArray):
            raise TypeError(f"{name} must be an xarray.DataArray, got {type(da).__name__}")
    if "month" not in obs.dims:
        raise ValueError(f"obs must have a 'month' dim, got dims {obs.dims}")
    if obs.sizes["month"] != 12:
        raise ValueError(f"obs 'month' must have length 12, got {obs.sizes['month']}")
    space = [d for d in obs.dims if d != "month"]
    if not space:
        raise ValueError(f"obs needs at least one spatial dim besides 'month', got {obs.dims}")
    if "model" in obs.dims:
        raise ValueError("obs must not have a 'model' dim")
    expected = {"model", "month", *space}
    if set(models.dims) != expected:
        raise ValueError(f"models must have dims {sorted(expected)}, got {models.dims}")
    for d in ("month", *space):
        if models.sizes[d] != obs.sizes[d]:
            raise ValueError(f"models and obs differ in size along {d!r}: "
                             f"{models.sizes[d]} vs {obs.sizes[d]}")
    if models.sizes["model"] < 2:
        raise ValueError(f"need at least 2 models, got {models.sizes['model']}")
    obs = obs.transpose("month", *space)
    models = models.transpose("model", "month", *space)
    for name, vals in (("obs", obs.values[None]), ("models", models.values)):
        if np.isinf(vals).any():
            raise ValueError(f"{name} contains infinite values")
        flat = vals.reshape(vals.shape[0], 12, -1)
        empty = np.argwhere(np.isnan(flat).all(axis=2))
        if empty.size:
            raise ValueError(f"{name} has {len(empty)} all-NaN month map(s), first "
                             f"(model, month) index: {empty[0].tolist()}")
    return obs, models
