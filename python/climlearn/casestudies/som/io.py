"""Save and load fitted SOMs as NetCDF (xarray, CF attributes, atomic write)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch
import xarray as xr

FORMAT = "climlearn-som-1"


def som_to_dataset(som) -> xr.Dataset:
    """The fitted map as an xarray.Dataset (codebook, grid positions, settings as attrs)."""
    som._check_fitted()
    feats = (som.feature_names if som.feature_names is not None
             else [f"f{i}" for i in range(som.n_features)])
    unit = np.arange(som.n_units)
    ds = xr.Dataset(
        {
            "codebook": (("unit", "feature"), som.codebook,
                         {"long_name": "SOM codebook (referent vectors)", "units": "1"}),
            "codebook_init": (("unit", "feature"), som.codebook_init_,
                              {"long_name": "SOM codebook before training", "units": "1"}),
            "feature_mean": (("feature",), som.feature_mean_,
                             {"long_name": "mean of the observed training values",
                              "units": "1"}),
            "weights": (("feature",), som._weights(som.n_features),
                        {"long_name": "per-feature distance weight", "units": "1"}),
        },
        coords={
            "unit": ("unit", unit, {"long_name": "map unit index (row-major)", "units": "1"}),
            "feature": ("feature", np.array(feats, dtype=str),
                        {"long_name": "feature name"}),
            "unit_row": ("unit", unit // som.cols, {"long_name": "unit grid row",
                                                    "units": "1"}),
            "unit_col": ("unit", unit % som.cols, {"long_name": "unit grid column",
                                                   "units": "1"}),
            "unit_x": ("unit", som.unit_coords[:, 0], {"long_name": "unit position along "
                                                       "columns", "units": "1"}),
            "unit_y": ("unit", som.unit_coords[:, 1], {"long_name": "unit position along "
                                                       "rows", "units": "1"}),
        },
        attrs={
            "title": "climlearn self-organising map",
            "Conventions": "CF-1.8",
            "climlearn_format": FORMAT,
            "rows": som.rows, "cols": som.cols, "topology": som.topology,
            "sigma_start": som.sigma_start, "sigma_end": som.sigma_end,
            "n_epochs": som.n_epochs, "mode": som.mode,
            "learning_rate": som.learning_rate, "init": som.init,
            "has_weights": int(som.weights is not None),
            "has_feature_names": int(som.feature_names is not None),
            "rescale_missing": int(som.rescale_missing), "seed": som.seed,
            "dtype": str(som.dtype).replace("torch.", ""),
        },
    )
    return ds


def save_som(som, path: str | Path) -> Path:
    """Write ``som`` to NetCDF at ``path`` through a temporary file and a rename.

    Parameters
    ----------
    som
        A fitted :class:`~climlearn.casestudies.som.SOM`.
    path
        Destination file (``.nc``); parent directories are created.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = som_to_dataset(som)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        ds.to_netcdf(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load_som(path: str | Path, device: str | torch.device = "cpu"):
    """Read a map written by :func:`save_som`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a climlearn SOM file.
    """
    from .som import SOM

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no SOM file at {path}")
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    if ds.attrs.get("climlearn_format") != FORMAT:
        raise ValueError(f"{path} is not a climlearn SOM file (climlearn_format="
                         f"{ds.attrs.get('climlearn_format')!r}, expected {FORMAT!r})")
    a = ds.attrs
    dtype = {"float32": torch.float32, "float64": torch.float64}[str(a["dtype"])]
    som = SOM(int(a["rows"]), int(a["cols"]), topology=str(a["topology"]),
              sigma_start=float(a["sigma_start"]), sigma_end=float(a["sigma_end"]),
              n_epochs=int(a["n_epochs"]), mode=str(a["mode"]),
              learning_rate=float(a["learning_rate"]), init=str(a["init"]),
              weights=ds["weights"].values if int(a["has_weights"]) else None,
              rescale_missing=bool(int(a["rescale_missing"])), seed=int(a["seed"]),
              device=device, dtype=dtype)
    som.n_features = int(ds.sizes["feature"])
    som.feature_names = ([str(v) for v in ds["feature"].values]
                         if int(a["has_feature_names"]) else None)
    som.feature_mean_ = ds["feature_mean"].values.astype(np.float64)
    som.codebook_init_ = ds["codebook_init"].values.astype(np.float64)
    som._codebook = som._t(ds["codebook"].values)
    return som
