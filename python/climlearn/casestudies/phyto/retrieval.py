"""Pigment and functional-type retrieval with a NaN-aware SOM (El Hourany et al. style).

The map is trained on samples joining satellite variables (log10 reflectances, SST, log10
satellite chlorophyll) with in-situ pigments (log10, mostly missing). Each feature is
standardised with the mean and standard deviation of its observed values. A pixel with
only satellite variables finds its best-matching unit on those alone (the masked
distance ignores the missing pigment components) and takes the unit's pigment values;
the codebook is clustered (Ward) into classes, and each pixel also gets its dominant
phytoplankton group from the retrieved diagnostic pigments.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import xarray as xr

from ..som import SOM
from .data import PIGMENT_NAMES, PIGMENTS

log = logging.getLogger(__name__)

SATELLITE_VARS = ("rrs", "sst", "chl")
# diagnostic pigment -> phytoplankton group (index order of data.TYPES)
DIAGNOSTIC = (("fuco", "diatoms"), ("hex_fuco", "haptophytes"), ("zea", "prokaryotes"),
              ("perid", "dinoflagellates"), ("tchlb", "green_algae"),
              ("but_fuco", "pelagophytes"))


def _check_dataset(ds: Any, need_pigments: bool) -> None:
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"expected an xarray.Dataset, got {type(ds).__name__}")
    need = list(SATELLITE_VARS) + (["pigments"] if need_pigments else [])
    missing = [v for v in need if v not in ds]
    if missing:
        raise ValueError(f"dataset lacks variable(s) {missing}; required: {need}")
    dims = {"rrs": ("sample", "band"), "sst": ("sample",), "chl": ("sample",),
            "pigments": ("sample", "pigment")}
    for v in need:
        if set(ds[v].dims) != set(dims[v]):
            raise ValueError(f"variable {v!r} must have dims {dims[v]}, got {ds[v].dims}")
    if need_pigments:
        got = [str(p) for p in ds["pigment"].values]
        if got != list(PIGMENTS):
            raise ValueError(f"pigment coordinate must be {list(PIGMENTS)}, got {got}")
    for v in need:
        if np.isinf(ds[v].values).any():
            raise ValueError(f"variable {v!r} contains infinite values (only NaN may mark "
                             f"missing data)")
    for v in ("rrs", "chl"):
        vals = ds[v].values
        if np.any(vals[~np.isnan(vals)] <= 0):
            raise ValueError(f"variable {v!r} must be positive (it is log-transformed); "
                             f"found {int(np.sum(vals[~np.isnan(vals)] <= 0))} values <= 0")
    if need_pigments:
        vals = ds["pigments"].values
        if np.any(vals[~np.isnan(vals)] <= 0):
            raise ValueError("pigment concentrations must be positive (log-transformed)")


def phyto_features(ds: xr.Dataset, with_pigments: bool = True) -> xr.DataArray:
    """Transformed features of each sample as a DataArray ``(sample, feature)``.

    Features: ``log10 rrs`` per band, ``sst``, ``log10 chl`` and (``with_pigments``)
    ``log10`` of each pigment; NaN stays NaN.
    """
    _check_dataset(ds, need_pigments=with_pigments)
    rrs = ds["rrs"].transpose("sample", "band")
    cols = [np.log10(rrs.values), ds["sst"].values[:, None], np.log10(ds["chl"].values)[:, None]]
    names = [f"log10_rrs_{int(b)}" for b in ds["band"].values] + ["sst", "log10_chl"]
    if with_pigments:
        cols.append(np.log10(ds["pigments"].transpose("sample", "pigment").values))
        names += [f"log10_{p}" for p in PIGMENTS]
    X = np.concatenate(cols, axis=1)
    return xr.DataArray(X, dims=("sample", "feature"),
                        coords={"sample": ds["sample"].values, "feature": names},
                        attrs={"long_name": "phytoplankton SOM features", "units": "1"})


@dataclass
class PhytoRetrieval:
    """A fitted phytoplankton SOM with its feature scaling and unit classes."""

    som: SOM
    mean: np.ndarray
    std: np.ndarray
    feature_names: list[str]
    n_satellite: int
    unit_class: np.ndarray
    class_group: list[str] = field(default_factory=list)

    def standardise(self, X: np.ndarray) -> np.ndarray:
        """Standardise features ``(n, n_features)`` with the training statistics."""
        return (X - self.mean) / self.std


def fit_phyto(ds: xr.Dataset, *, rows: int = 12, cols: int = 12, n_classes: int = 5,
              topology: str = "hexagonal", n_epochs: int = 30, sigma_end: float = 0.7,
              seed: int = 0, device: str = "cpu", dtype: torch.dtype = torch.float32,
              pigment_weight: float = 1.0, num_threads: int | None = 1) -> PhytoRetrieval:
    """Train the SOM on joined satellite and (mostly missing) in-situ pigment samples.

    Parameters
    ----------
    ds
        Dataset with ``rrs`` (sample, band), ``sst``, ``chl`` (sample) and ``pigments``
        (sample, pigment), e.g. from :func:`~.data.make_phyto_dataset`; NaN allowed.
    rows, cols, topology, n_epochs, sigma_end, seed, device, dtype
        SOM settings (batch training, PCA initialisation).
    n_classes
        Number of classes of the Ward clustering of the codebook.
    pigment_weight
        Distance weight of the pigment features relative to the satellite ones.
    num_threads
        Torch CPU threads of the SOM (one is fastest at these sizes); None: torch's.

    Returns
    -------
    PhytoRetrieval
    """
    feats = phyto_features(ds, with_pigments=True)
    X = feats.values
    if np.isnan(X[:, :-len(PIGMENTS)]).all(axis=1).any():
        bad = np.flatnonzero(np.isnan(X[:, :-len(PIGMENTS)]).all(axis=1))
        raise ValueError(f"{bad.size} sample(s) have no satellite value, first: "
                         f"{bad[:10].tolist()}")
    n_pig_obs = (~np.isnan(X[:, -len(PIGMENTS):])).sum(0)
    if np.any(n_pig_obs < 2):
        raise ValueError(f"every pigment needs at least 2 observed values; counts: "
                         f"{dict(zip(PIGMENTS, n_pig_obs.tolist(), strict=True))}")
    mean = np.nanmean(X, axis=0)
    std = np.nanstd(X, axis=0)
    std = np.where(std > 0, std, 1.0)
    n_sat = X.shape[1] - len(PIGMENTS)
    w = np.ones(X.shape[1])
    w[n_sat:] = pigment_weight
    som = SOM(rows, cols, topology=topology, n_epochs=n_epochs, sigma_end=sigma_end,
              weights=w, seed=seed, device=device, dtype=dtype, num_threads=num_threads)
    som.fit(xr.DataArray((X - mean) / std, dims=feats.dims, coords=feats.coords))
    model = PhytoRetrieval(som=som, mean=mean, std=std,
                           feature_names=list(map(str, feats["feature"].values)),
                           n_satellite=n_sat, unit_class=som.cluster(n_classes, "ward"))
    pig = model.std[n_sat:] * som.codebook[:, n_sat:] + model.mean[n_sat:]
    groups = []
    for c in range(n_classes):
        g = dominant_group(10.0 ** pig[model.unit_class == c].mean(0)[None])[0]
        groups.append(DIAGNOSTIC[g][1])
    model.class_group = groups
    log.info("phyto SOM %dx%d fitted on %d samples, QE %.3f", rows, cols, X.shape[0],
             som.quantization_error((X - mean) / std))
    return model


def dominant_group(pigments: np.ndarray) -> np.ndarray:
    """Index into :data:`DIAGNOSTIC` of the largest diagnostic pigment, per sample.

    ``pigments`` is ``(n, len(PIGMENTS))`` in mg m-3 (order of :data:`.data.PIGMENTS`).
    """
    idx = [PIGMENTS.index(p) for p, _ in DIAGNOSTIC]
    return np.argmax(np.asarray(pigments)[:, idx], axis=1)


def retrieve_pigments(model: PhytoRetrieval, ds: xr.Dataset,
                      use_insitu: bool = False) -> xr.Dataset:
    """Retrieve pigments and classes for pixels from their satellite variables.

    Parameters
    ----------
    model
        From :func:`fit_phyto`.
    ds
        Dataset with ``rrs``, ``sst`` and ``chl`` (``pigments`` optional).
    use_insitu
        If true and ``ds`` has ``pigments``, the observed pigments also enter the
        best-matching-unit search and are kept in the output (imputation of the missing
        ones); otherwise pigments are retrieved from the satellite variables alone.

    Returns
    -------
    xarray.Dataset
        ``pigments`` (sample, pigment) in mg m-3, ``pft_class`` (sample, SOM class of
        the best-matching unit), ``dominant_group`` (sample, index into the group names
        in its ``flag_meanings``), ``bmu`` (sample).
    """
    with_pig = use_insitu and "pigments" in ds
    feats = phyto_features(ds, with_pigments=with_pig)
    X = feats.values
    n_pig = len(PIGMENTS)
    if not with_pig:
        X = np.concatenate([X, np.full((X.shape[0], n_pig), np.nan)], axis=1)
    Z = model.standardise(X)
    bmu = model.som.bmu(Z)
    code = model.som.codebook[bmu]
    Zf = np.where(np.isnan(Z), code, Z)
    logp = Zf[:, -n_pig:] * model.std[-n_pig:] + model.mean[-n_pig:]
    pig = 10.0 ** logp
    groups = [g for _, g in DIAGNOSTIC]
    out = xr.Dataset(
        {
            "pigments": (("sample", "pigment"), pig,
                         {"units": "mg m-3", "long_name": "retrieved pigment concentration"}),
            "pft_class": (("sample",), model.unit_class[bmu],
                          {"units": "1", "long_name": "SOM class (Ward clusters of the map)",
                           "class_dominant_group": " ".join(model.class_group)}),
            "dominant_group": (("sample",), dominant_group(pig),
                               {"units": "1", "long_name": "dominant phytoplankton group",
                                "flag_values": np.arange(len(groups)),
                                "flag_meanings": " ".join(groups)}),
            "bmu": (("sample",), bmu, {"units": "1", "long_name": "best-matching unit"}),
        },
        coords={"sample": ds["sample"].values,
                "pigment": ("pigment", list(PIGMENTS), {"long_name": "pigment"})},
        attrs={"title": "climlearn SOM pigment retrieval",
               "pigment_long_names": "; ".join(f"{k}: {v}" for k, v in PIGMENT_NAMES.items())},
    )
    return out


def log_rmse(pred: np.ndarray, truth: np.ndarray, where: np.ndarray | None = None) -> float:
    """RMSE of ``log10`` concentrations over the entries selected by ``where``."""
    d = np.log10(pred) - np.log10(truth)
    if where is not None:
        d = d[where]
    return float(np.sqrt(np.mean(d ** 2)))
