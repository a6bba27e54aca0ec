"""Synthetic coastal-upwelling climatologies: observations and ~20 "models" with known errors.

The observed field is an upwelling index (surface cooling, K) on a small (lat, lon, month)
grid off a north-south coast at the eastern edge of the domain, as off Senegal: the
cooling decays offshore over ``offshore_scale`` degrees, is centred at ``lat_core`` with
a Gaussian meridional width, and has a peaked seasonal cycle (maximum near March, later
further north). Each model is the same construction with three known errors:

- amplitude factor ``a`` (1 = right),
- phase shift ``p`` in months (positive = late),
- meridional position shift ``dlat`` in degrees of the upwelling core,

plus small independent noise. The TRUE error of a model is fixed a priori as

``true_error = |ln a| / ln 1.5 + |p| / 2 + |dlat| / 1``

i.e. a factor 1.5 in amplitude, a 2-month phase error and a 1-degree displacement count
as equally bad (one unit each), and errors add. The true ranking sorts models by it.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["upwelling_field", "make_models", "default_model_errors", "true_error"]

AMP_TOL = float(np.log(1.5))
PHASE_TOL = 2.0
POS_TOL = 1.0


def upwelling_field(lat: np.ndarray, lon: np.ndarray, *, amplitude: float = 1.0,
                    phase: float = 0.0, dlat: float = 0.0, peak_cooling: float = 3.0,
                    lat_core: float = 14.5, lat_width: float = 1.6,
                    offshore_scale: float = 1.2, coast_lon: float = -16.5,
                    kappa: float = 1.8) -> np.ndarray:
    """Upwelling index (K of cooling), shape (lat, lon, 12 months)."""
    la = lat[:, None, None]
    lo = lon[None, :, None]
    month = np.arange(12)[None, None, :]
    peak_month = 2.0 + 0.35 * (la - lat_core - dlat) + phase  # 0 = January
    season = np.exp(kappa * (np.cos(2 * np.pi * (month - peak_month) / 12.0) - 1.0))
    space = (np.exp(-0.5 * ((la - lat_core - dlat) / lat_width) ** 2)
             * np.exp(-np.clip(coast_lon - lo, 0.0, None) / offshore_scale))
    return amplitude * peak_cooling * space * season


def default_model_errors() -> list[dict[str, float | str]]:
    """The 20 synthetic models: 5 per family (amplitude, phase, position, mixed)."""
    models: list[dict[str, float | str]] = []
    for a in (0.9, 1.25, 0.7, 1.6, 0.45):
        models.append({"family": "amplitude", "amplitude": a, "phase": 0.0, "dlat": 0.0})
    for p in (0.5, 1.0, 2.0, -3.0, 4.0):
        models.append({"family": "phase", "amplitude": 1.0, "phase": p, "dlat": 0.0})
    for d in (0.25, -0.5, 1.0, -1.5, 2.0):
        models.append({"family": "position", "amplitude": 1.0, "phase": 0.0, "dlat": d})
    for a, p, d in ((1.1, 0.5, 0.25), (0.8, -1.0, 0.5), (1.3, 1.5, -0.75),
                    (0.65, 2.0, 1.0), (1.5, -2.5, -1.25)):
        models.append({"family": "mixed", "amplitude": a, "phase": p, "dlat": d})
    return models


def true_error(amplitude: np.ndarray, phase: np.ndarray, dlat: np.ndarray) -> np.ndarray:
    """The a-priori error of a model (see the module docstring)."""
    return (np.abs(np.log(amplitude)) / AMP_TOL + np.abs(phase) / PHASE_TOL
            + np.abs(dlat) / POS_TOL)


def make_models(*, n_lat: int = 12, n_lon: int = 8, noise: float = 0.05,
                models: list[dict[str, float | str]] | None = None,
                seed: int = 0) -> xr.Dataset:
    """Observed and modelled upwelling climatologies.

    Parameters
    ----------
    n_lat, n_lon : int
        Grid size (latitudes 11-18 N, longitudes 20-16.5 W).
    noise : float
        Standard deviation (K) of the independent noise of each field.
    models : list of dict, optional
        Model errors (keys ``family``, ``amplitude``, ``phase``, ``dlat``); default
        :func:`default_model_errors`.
    seed : int
        Seed of the noise.

    Returns
    -------
    xarray.Dataset
        ``obs`` (lat, lon, month), ``models`` (model, lat, lon, month), and per model the
        known ``amplitude``, ``phase``, ``dlat``, ``family``, ``true_error`` and
        ``true_rank`` (1 = best).
    """
    if n_lat < 3 or n_lon < 2:
        raise ValueError(f"grid too small: need n_lat >= 3 and n_lon >= 2, got "
                         f"{n_lat}x{n_lon}")
    rng = np.random.default_rng(seed)
    lat = np.linspace(11.0, 18.0, n_lat)
    lon = np.linspace(-20.0, -16.5, n_lon)
    specs = default_model_errors() if models is None else models
    if len(specs) < 2:
        raise ValueError(f"need at least 2 models, got {len(specs)}")
    obs = upwelling_field(lat, lon) + noise * rng.standard_normal((n_lat, n_lon, 12))
    fields = np.stack([upwelling_field(lat, lon, amplitude=float(m["amplitude"]),
                                       phase=float(m["phase"]), dlat=float(m["dlat"]))
                       + noise * rng.standard_normal((n_lat, n_lon, 12)) for m in specs])
    amp = np.array([float(m["amplitude"]) for m in specs])
    ph = np.array([float(m["phase"]) for m in specs])
    dl = np.array([float(m["dlat"]) for m in specs])
    err = true_error(amp, ph, dl)
    rank = np.empty(len(specs), dtype=np.int64)
    rank[np.argsort(err, kind="stable")] = np.arange(1, len(specs) + 1)
    names = [f"M{i + 1:02d}" for i in range(len(specs))]
    coords = {"lat": ("lat", lat, {"units": "degrees_north"}),
              "lon": ("lon", lon, {"units": "degrees_east"}),
              "month": ("month", np.arange(1, 13), {"long_name": "calendar month"}),
              "model": names}
    attrs = {"units": "K", "long_name": "upwelling index (surface cooling)"}
    return xr.Dataset(
        {"obs": (("lat", "lon", "month"), obs, attrs),
         "models": (("model", "lat", "lon", "month"), fields, attrs),
         "amplitude": ("model", amp, {"units": "1", "long_name": "amplitude factor"}),
         "phase": ("model", ph, {"units": "month", "long_name": "phase shift"}),
         "dlat": ("model", dl, {"units": "degrees", "long_name": "core displacement"}),
         "family": ("model", [str(m["family"]) for m in specs]),
         "true_error": ("model", err, {"units": "1", "long_name": "a-priori model error"}),
         "true_rank": ("model", rank, {"units": "1", "long_name": "true rank (1 = best)"})},
        coords=coords, attrs={"title": "synthetic upwelling climatologies (climlearn)",
                              "seed": seed})
