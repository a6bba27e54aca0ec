"""QC of vertical profiles: the SOM test and the classic tests with profile settings.

Both are thin wrappers: :func:`som_profile_qc` calls :func:`~.som_qc.som_qc` with
samples = profiles and members = depth levels (``reference="none"``: the map learns the
profile shapes), so each level is checked against the best-matching unit found on the
OTHER levels of its profile; :func:`classic_profile_qc` calls
:func:`~.classic.classic_qc` along ``depth`` with ocean-temperature spans.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..som import SOM
from .classic import classic_qc
from .som_qc import som_qc

__all__ = ["OCEAN_FAIL_SPAN", "OCEAN_SUSPECT_SPAN", "som_profile_qc", "classic_profile_qc"]

#: Sea-water temperature spans (degC) of the gross-range test: fail, suspect.
OCEAN_FAIL_SPAN = (-2.5, 40.0)
OCEAN_SUSPECT_SPAN = (-2.0, 35.0)


def _check_profiles(data: xr.DataArray, profile_dim: str, depth_dim: str) -> None:
    if not isinstance(data, xr.DataArray):
        raise TypeError(f"profiles must be an xarray.DataArray, got {type(data).__name__}")
    if data.ndim != 2 or set(data.dims) != {profile_dim, depth_dim}:
        raise ValueError(f"profiles must have dims ({profile_dim!r}, {depth_dim!r}), got "
                         f"{data.dims}")
    empty = np.flatnonzero(np.isnan(data.transpose(profile_dim, depth_dim).values)
                           .all(axis=1))
    if empty.size:
        raise ValueError(f"{empty.size} all-NaN profile(s), first indices: "
                         f"{empty[:10].tolist()}")


def som_profile_qc(data: xr.DataArray, *, profile_dim: str = "profile",
                   depth_dim: str = "depth", som_shape: tuple[int, int] = (15, 15),
                   n_epochs: int = 30, threshold: float = 4.0, max_rounds: int = 8,
                   n_outer: int = 3, n_local: int = 1, seed: int = 0
                   ) -> tuple[xr.Dataset, SOM]:
    """Flag suspect levels of profiles with a SOM trained on the profiles.

    Each level is compared with the value the map expects given the other levels of
    the profile (leave-one-out best-matching unit, NaN-aware: flagged or missing levels
    are masked); ``quantization_error`` is the profile's masked quantisation error. Up
    to ``max_rounds`` levels per profile are flagged, worst first (several faulty
    levels, e.g. an offset over part of the profile). See :func:`~.som_qc.som_qc` for
    the parameters.

    Returns
    -------
    (xarray.Dataset, SOM)
        As :func:`~.som_qc.som_qc`, with dims (``profile_dim``, ``depth_dim``).
    """
    _check_profiles(data, profile_dim, depth_dim)
    return som_qc(data, sample_dim=profile_dim, member_dim=depth_dim, reference="none",
                  som_shape=som_shape, n_epochs=n_epochs, threshold=threshold,
                  max_rounds=max_rounds, n_outer=n_outer, n_local=n_local, seed=seed)


def classic_profile_qc(data: xr.DataArray, *, profile_dim: str = "profile",
                       depth_dim: str = "depth", **kwargs) -> xr.Dataset:
    """QARTOD-style gross-range, spike and flat-line tests along depth.

    ``kwargs`` go to :func:`~.classic.classic_qc`; the gross-range spans default to
    :data:`OCEAN_FAIL_SPAN` and :data:`OCEAN_SUSPECT_SPAN`.
    """
    _check_profiles(data, profile_dim, depth_dim)
    kwargs.setdefault("fail_span", OCEAN_FAIL_SPAN)
    kwargs.setdefault("suspect_span", OCEAN_SUSPECT_SPAN)
    return classic_qc(data, dim=depth_dim, **kwargs)
