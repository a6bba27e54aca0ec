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
from .segment_scan import segment_scan
from .som_qc import som_qc

__all__ = ["OCEAN_FAIL_SPAN", "OCEAN_SUSPECT_SPAN", "classic_profile_qc", "repeat_test",
           "som_profile_qc"]

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


def repeat_test(values: np.ndarray, tolerance: float = 1e-3, min_repeats: int = 2
                ) -> np.ndarray:
    """Exact repeats along the last axis: a value is flagged when it belongs to a run of
    at least ``min_repeats`` consecutive values that each lie within ``tolerance`` of the
    previous one (a stuck sensor repeating its last reading; the first value of the run,
    the last genuine reading, is not flagged). Real sensor noise almost never repeats a
    value to within 0.001 K twice in a row."""
    x = np.asarray(values, dtype=np.float64)
    if tolerance < 0 or min_repeats < 1:
        raise ValueError(f"need tolerance >= 0 and min_repeats >= 1, got {tolerance}, "
                         f"{min_repeats}")
    same = np.zeros(x.shape, dtype=bool)
    same[..., 1:] = np.abs(np.diff(x, axis=-1)) <= tolerance
    run = np.zeros(x.shape, dtype=np.int64)          # length of the run ending here
    for k in range(1, x.shape[-1]):
        run[..., k] = np.where(same[..., k], run[..., k - 1] + 1, 0)
    flag = np.zeros(x.shape, dtype=bool)
    for k in range(x.shape[-1] - 1, -1, -1):         # spread each long run backwards
        end = run[..., k] >= min_repeats
        if k + 1 < x.shape[-1]:
            end |= same[..., k] & flag[..., k + 1]
        flag[..., k] = end & same[..., k]
    return flag


def som_profile_qc(data: xr.DataArray, *, profile_dim: str = "profile",
                   depth_dim: str = "depth", som_shape: tuple[int, int] = (15, 15),
                   n_epochs: int = 30, threshold: float = 4.0, max_rounds: int = 8,
                   n_outer: int = 3, n_local: int = 1, segment_test: bool = True,
                   segment_threshold_point: float = 3.5,
                   segment_threshold_run: float = 5.0,
                   repeat_tolerance: float | None = 1e-3, seed: int = 0,
                   **segment_options) -> tuple[xr.Dataset, SOM]:
    """Flag suspect levels of profiles with a SOM trained on the profiles.

    First each level is compared with the value the map expects given the other levels
    of the profile (leave-one-out best-matching unit, NaN-aware: flagged or missing
    levels are masked; :func:`~.som_qc.som_qc`), up to ``max_rounds`` levels per profile,
    worst first. With ``segment_test`` (default) these flags only train the map and
    keep suspect profiles out of the local models, and the flags are those of the
    segment test :func:`~.segment_scan.segment_scan`: runs of consecutive levels (a
    spike, a stuck sensor, an offset to the bottom) that the rest of the profile does
    not support under the local Gaussian model of its best-matching unit; plus, with
    ``repeat_tolerance``, exact repeats (:func:`repeat_test`). ``quantization_error`` is
    the profile's masked quantisation error of the levels the leave-one-out test left
    unflagged.

    Parameters
    ----------
    segment_test : bool
        Use the segment test (False: the leave-one-out flags of ``som_qc`` alone).
    segment_threshold_point, segment_threshold_run : float
        Normal-score thresholds of the segment test for single levels and for longer
        runs. With the default mixture tests (``threshold_mixture=4.25``,
        ``threshold_mixture_inner=4.75``), ``confirm_runs=True`` and no shape test
        (``threshold_shape=None``) they were set on clean synthetic profiles of seeds
        2000-2002 (distinct from the demo's test seeds) so that about 0.9 % at most of
        their levels are flagged (0.76-0.93 %).
    repeat_tolerance : float or None
        Tolerance of :func:`repeat_test` (data units; None: no repeat test).
    **segment_options
        Other keywords of :func:`~.segment_scan.segment_scan` (``n_neighbours``,
        ``n_components``, ``max_length``, ``penalty``, ``max_runs``, ``n_passes``,
        ``screen``, ``threshold_shape``, ``threshold_mixture``,
        ``threshold_mixture_inner``, ``confirm_runs``).

    The other parameters are those of :func:`~.som_qc.som_qc`.

    Returns
    -------
    (xarray.Dataset, SOM)
        As :func:`~.som_qc.som_qc`, with dims (``profile_dim``, ``depth_dim``); with
        ``segment_test`` also ``flagged_loo`` (the leave-one-out flags), ``flagged_repeat``
        (the repeat test) and ``segment_score`` (profile: the largest run score).
    """
    _check_profiles(data, profile_dim, depth_dim)
    unknown = set(segment_options) - {"n_neighbours", "n_components", "max_length",
                                      "penalty", "max_runs", "n_passes", "screen",
                                      "threshold_shape", "threshold_mixture",
                                      "threshold_mixture_inner", "confirm_runs"}
    if unknown:
        raise ValueError(f"unknown segment option(s) {sorted(unknown)}; valid: "
                         "n_neighbours, n_components, max_length, penalty, max_runs, "
                         "n_passes, screen, threshold_shape, threshold_mixture, "
                         "threshold_mixture_inner, confirm_runs")
    out, som = som_qc(data, sample_dim=profile_dim, member_dim=depth_dim,
                      reference="none", som_shape=som_shape, n_epochs=n_epochs,
                      threshold=threshold, max_rounds=max_rounds, n_outer=n_outer,
                      n_local=n_local, seed=seed)
    if not segment_test:
        return out, som
    X = data.transpose(profile_dim, depth_dim).values.astype(np.float64)
    Y = X - np.nanmedian(X, axis=0)            # the offset som_qc removes
    loo = out["flagged"].transpose(profile_dim, depth_dim).values
    flagged, score = segment_scan(som.codebook, Y, loo,
                                  threshold_point=segment_threshold_point,
                                  threshold_run=segment_threshold_run, **segment_options)
    repeats = np.zeros_like(flagged) if repeat_tolerance is None else \
        repeat_test(X, repeat_tolerance)
    dims = (profile_dim, depth_dim)
    out["flagged_loo"] = (dims, loo, {"long_name": "flagged by the leave-one-out SOM test"})
    out["flagged_repeat"] = (dims, repeats, {"long_name": "exact repeat of the level above"})
    out["flagged"] = (dims, flagged | repeats, {
        "long_name": "flagged by the SOM segment test or the repeat test"})
    out["segment_score"] = (profile_dim, score, {
        "units": "1", "long_name": "largest run score of the segment test (normal score)"})
    return out.transpose(*data.dims, ...), som


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
