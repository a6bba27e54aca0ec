"""Classic QARTOD-style tests on single series: gross range, spike, flat line.

Flags follow the QARTOD convention: 1 pass, 2 not evaluated, 3 suspect, 4 fail,
9 missing. Each test works on one 1-D series; :func:`classic_qc` applies all three along
the ``time`` dim of a DataArray and combines them (the worst flag wins).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["PASS", "NOT_EVALUATED", "SUSPECT", "FAIL", "MISSING", "gross_range_test",
           "spike_test", "flat_line_test", "classic_qc"]

PASS, NOT_EVALUATED, SUSPECT, FAIL, MISSING = 1, 2, 3, 4, 9


def _series(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"a QARTOD test takes a 1-D series, got shape {x.shape}")
    return x


def gross_range_test(x: np.ndarray, fail_span: tuple[float, float],
                     suspect_span: tuple[float, float] | None = None) -> np.ndarray:
    """Fail outside the sensor span, suspect outside the (narrower) user span."""
    x = _series(x)
    lo, hi = fail_span
    if not lo < hi:
        raise ValueError(f"fail_span must be (low, high) with low < high, got {fail_span}")
    flag = np.full(x.shape, PASS, dtype=np.int8)
    if suspect_span is not None:
        slo, shi = suspect_span
        if not lo <= slo < shi <= hi:
            raise ValueError(f"suspect_span {suspect_span} must lie inside fail_span "
                             f"{fail_span}")
        flag[(x < slo) | (x > shi)] = SUSPECT
    flag[(x < lo) | (x > hi)] = FAIL
    flag[np.isnan(x)] = MISSING
    return flag


def spike_test(x: np.ndarray, suspect_threshold: float, fail_threshold: float) -> np.ndarray:
    """QARTOD spike test: ``|x_t - (x_{t-1} + x_{t+1}) / 2|`` against two thresholds.

    The first and last values are not evaluated (flag 2).
    """
    x = _series(x)
    if not 0 < suspect_threshold <= fail_threshold:
        raise ValueError(f"need 0 < suspect_threshold <= fail_threshold, got "
                         f"{suspect_threshold}, {fail_threshold}")
    flag = np.full(x.shape, NOT_EVALUATED, dtype=np.int8)
    if x.size < 3:
        return flag
    spk = np.abs(x[1:-1] - 0.5 * (x[:-2] + x[2:]))
    inner = np.full(spk.shape, PASS, dtype=np.int8)
    inner[spk > suspect_threshold] = SUSPECT
    inner[spk > fail_threshold] = FAIL
    inner[np.isnan(spk)] = MISSING
    flag[1:-1] = inner
    flag[np.isnan(x)] = MISSING
    return flag


def flat_line_test(x: np.ndarray, tolerance: float, suspect_count: int,
                   fail_count: int) -> np.ndarray:
    """QARTOD flat-line test: suspect (fail) when the previous ``suspect_count``
    (``fail_count``) values all lie within ``tolerance`` of the current one."""
    x = _series(x)
    if not 1 <= suspect_count <= fail_count:
        raise ValueError(f"need 1 <= suspect_count <= fail_count, got {suspect_count}, "
                         f"{fail_count}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    n = x.size
    flag = np.full(n, PASS, dtype=np.int8)
    flag[:suspect_count] = NOT_EVALUATED
    run = np.zeros(n, dtype=np.int64)  # number of previous values within tolerance
    for lag in range(1, fail_count + 1):
        same = np.zeros(n, dtype=bool)
        same[lag:] = np.abs(x[lag:] - x[:-lag]) <= tolerance
        run += same & (run == lag - 1)
    flag[(run >= suspect_count) & (np.arange(n) >= suspect_count)] = SUSPECT
    flag[run >= fail_count] = FAIL
    flag[np.isnan(x)] = MISSING
    return flag


def classic_qc(series: xr.DataArray, *, fail_span: tuple[float, float] = (-40.0, 60.0),
               suspect_span: tuple[float, float] | None = (-20.0, 50.0),
               spike_suspect: float | None = None, spike_fail: float | None = None,
               spike_factor: float = 4.0, flat_tolerance: float = 1e-3,
               flat_suspect: int = 3, flat_fail: int = 6, dim: str = "time") -> xr.Dataset:
    """Gross-range, spike and flat-line tests along ``dim`` for each series.

    Parameters
    ----------
    series : xarray.DataArray
        Dims ``dim`` and at most one other (e.g. ``station``; ``profile`` with
        ``dim="depth"`` for profiles).
    fail_span, suspect_span : (float, float)
        Sensor span (fail) and user span (suspect) of the gross-range test.
    spike_suspect, spike_fail : float, optional
        Spike thresholds in data units. Default: ``spike_factor`` (suspect) and
        ``2 * spike_factor`` (fail) times the robust standard deviation
        (1.4826 median of the absolute spike statistic) of each series.
    flat_tolerance, flat_suspect, flat_fail
        Flat-line tolerance (data units) and repeat counts.
    dim : str
        The dim the tests run along (``time`` for series, ``depth`` for profiles).

    Returns
    -------
    xarray.Dataset
        ``gross_range``, ``spike``, ``flat_line`` and ``aggregate`` (worst) flags, and
        ``flagged`` (bool: aggregate suspect or fail), all with the dims of ``series``.
    """
    if not isinstance(series, xr.DataArray):
        raise TypeError(f"series must be an xarray.DataArray, got {type(series).__name__}")
    if dim not in series.dims or series.ndim > 2:
        raise ValueError(f"series must have a {dim!r} dim and at most one other, got "
                         f"{series.dims}")
    if series.sizes[dim] < 3:
        raise ValueError(f"series too short: {series.sizes[dim]} values along {dim!r}, "
                         f"need >= 3")
    other = [d for d in series.dims if d != dim]
    da = series.transpose(*other, dim)
    vals = np.atleast_2d(da.values.astype(np.float64))
    out = {k: np.empty(vals.shape, dtype=np.int8) for k in ("gross_range", "spike",
                                                            "flat_line")}
    for i, x in enumerate(vals):
        out["gross_range"][i] = gross_range_test(x, fail_span, suspect_span)
        sus, fail = spike_suspect, spike_fail
        if sus is None or fail is None:
            spk = np.abs(x[1:-1] - 0.5 * (x[:-2] + x[2:]))
            ok = np.isfinite(spk) & (x[1:-1] > fail_span[0]) & (x[1:-1] < fail_span[1])
            # robust std of the signed statistic (median ~ 0): 1.4826 median(|spk|)
            mad = 1.4826 * np.median(spk[ok]) if ok.any() else 1.0
            scale = mad if mad > 0 else 1.0
            sus = spike_factor * scale if spike_suspect is None else spike_suspect
            fail = 2 * spike_factor * scale if spike_fail is None else spike_fail
        out["spike"][i] = spike_test(x, sus, fail)
        out["flat_line"][i] = flat_line_test(x, flat_tolerance, flat_suspect, flat_fail)
    agg = np.maximum.reduce([np.where(f == NOT_EVALUATED, PASS, f) for f in out.values()])
    dims = (*other, dim)
    shape = da.shape
    ds = xr.Dataset({k: (dims, v.reshape(shape), {"long_name": f"QARTOD {k} flag"})
                     for k, v in out.items()}, coords=da.coords)
    ds["aggregate"] = (dims, agg.reshape(shape), {"long_name": "worst QARTOD flag"})
    ds["flagged"] = (dims, ((agg == SUSPECT) | (agg == FAIL)).reshape(shape),
                     {"long_name": "suspect or failed"})
    return ds
