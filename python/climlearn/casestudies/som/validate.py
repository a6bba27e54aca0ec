"""Input checks shared by the SOM and the case studies built on it."""

from __future__ import annotations

from typing import Any

import numpy as np

SAMPLE_DIM = "sample"
FEATURE_DIM = "feature"


def as_matrix(X: Any, name: str = "X", allow_all_nan_rows: bool = False
              ) -> tuple[np.ndarray, list[str] | None]:
    """Turn ``X`` into a float64 ``(n_samples, n_features)`` array, checking it.

    Parameters
    ----------
    X
        numpy array ``(n_samples, n_features)`` or xarray.DataArray with dims
        ``("sample", "feature")`` (in either order). NaN marks a missing value.
    name
        Name used in error messages.
    allow_all_nan_rows
        Accept samples with no observed component (otherwise ValueError).

    Returns
    -------
    (array, feature_names)
        ``feature_names`` is the list of ``feature`` coordinate values of a DataArray that
        has one, else None.
    """
    names = None
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover - xarray is a dependency
        xr = None
    if xr is not None and isinstance(X, xr.Dataset):
        raise TypeError(f"{name} must be a numpy array or an xarray.DataArray with dims "
                        f"({SAMPLE_DIM!r}, {FEATURE_DIM!r}), got an xarray.Dataset")
    if xr is not None and isinstance(X, xr.DataArray):
        if set(X.dims) != {SAMPLE_DIM, FEATURE_DIM}:
            raise ValueError(f"{name} must have dims ({SAMPLE_DIM!r}, {FEATURE_DIM!r}), "
                             f"got {X.dims}")
        X = X.transpose(SAMPLE_DIM, FEATURE_DIM)
        if FEATURE_DIM in X.coords:
            names = [str(v) for v in X[FEATURE_DIM].values]
        arr = np.asarray(X.values)
    else:
        arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if np.isinf(arr).any():
        bad = np.argwhere(np.isinf(arr))[:5].tolist()
        raise ValueError(f"{name} contains infinite values (only NaN may mark missing data); "
                         f"first (sample, feature) positions: {bad}")
    if not allow_all_nan_rows:
        empty = np.flatnonzero(np.isnan(arr).all(axis=1))
        if empty.size:
            raise ValueError(f"{name} has {empty.size} all-NaN sample(s) (no observed "
                             f"component), first indices: {empty[:10].tolist()}")
    return arr, names
