"""The plain baseline: rank models by their root-mean-square difference to the observations."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .inputs import check_climatologies
from .metrics import rankdata

__all__ = ["rmse_ranking"]


def rmse_ranking(obs: xr.DataArray, models: xr.DataArray) -> xr.Dataset:
    """RMSE of each model against the observations over all (space, month) points.

    Parameters
    ----------
    obs : xarray.DataArray
        Observed climatology with a ``month`` dim (length 12) and spatial dims.
    models : xarray.DataArray
        The same dims plus ``model``.

    Returns
    -------
    xarray.Dataset
        ``rmse`` (model) and ``rank`` (model; 1 = best), NaN points left out.
    """
    obs, models = check_climatologies(obs, models)
    diff = (models - obs).values.reshape(models.sizes["model"], -1)
    rmse = np.sqrt(np.nanmean(diff ** 2, axis=1))
    units = obs.attrs.get("units", "")
    return xr.Dataset(
        {"rmse": ("model", rmse, {"units": units, "long_name": "RMSE against observations"}),
         "rank": ("model", rankdata(rmse), {"units": "1", "long_name": "RMSE rank "
                                                          "(1 = best)"})},
        coords={"model": models["model"]})
