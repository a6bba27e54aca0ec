"""Classical eddy detection from closed contours of sea-surface height.

For each sign (anticyclones around maxima, cyclones around minima of the smoothed SSH),
the region bounded by closed contours is grown from each extremum (priority flood:
:func:`climlearn.casestudies.eddies.regions.grow_closed`) as long as it encloses that
extremum only, stays away from the edges and NaN pixels, and is not larger than
``max_area``. An eddy is kept when its amplitude (extremum minus the level of its
outermost closed contour) reaches ``min_amplitude`` and its area ``min_area``. Its edge
is the closed contour of maximum mean SSH gradient (maximum geostrophic speed, as in
Chelton et al. 2011 and Mason et al. 2014).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .data import ANTICYCLONIC, CYCLONIC, EDDY_COLUMNS, check_maps
from .regions import grow_closed, local_maxima, smooth

__all__ = ["detect_geometric"]


def _speed_contour(a: np.ndarray, grad: np.ndarray, pixels: list[tuple[int, int]],
                   levels: list[float], sizes: list[int], dlevel: float) -> int:
    """Index (into ``levels``) of the closed contour with the largest mean gradient."""
    best, best_speed, last = len(levels) - 1, -np.inf, np.inf
    for i, (lev, size) in enumerate(zip(levels, sizes, strict=True)):
        if last - lev < dlevel and i != len(levels) - 1:
            continue
        last = lev
        region = set(pixels[:size])
        edge = [p for p in pixels[:size]
                if any((p[0] + dy, p[1] + dx) not in region
                       for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)))]
        speed = float(np.mean([grad[p] for p in edge]))
        if speed > best_speed:
            best, best_speed = i, speed
    return best


def detect_geometric(ssh: xr.DataArray, min_amplitude: float = 0.02, min_area: int = 6,
                     max_area: int = 600, smoothing: float = 1.0,
                     dlevel: float = 0.002, highpass: float | None = None,
                     ) -> tuple[xr.DataArray, pd.DataFrame]:
    """Detect eddies in SSH maps from closed contours around extrema.

    Parameters
    ----------
    ssh
        Sea-surface height (m), dims ``(time, y, x)`` or ``(y, x)``; NaN for land/gaps.
    min_amplitude
        Smallest amplitude (m) of an eddy.
    min_area, max_area
        Smallest and largest area (pixels) of the outermost closed contour.
    smoothing
        Standard deviation (pixels) of the Gaussian filter applied before detection.
    dlevel
        Spacing (m) of the contour levels examined for the speed-based edge.
    highpass
        If given, first remove the large scale: subtract from each map its Gaussian
        smoothing of this width (pixels), as altimetry eddy detectors (e.g.
        py-eddy-tracker) high-pass filter the SSH before looking for closed contours.
        Amplitudes are then those of the filtered SSH.

    Returns
    -------
    mask : xarray.DataArray
        Classes ``(time, y, x)``: 0 background, 1 anticyclonic, 2 cyclonic, NaN where
        ``ssh`` is NaN.
    eddies : pandas.DataFrame
        Columns ``time, y, x, radius, amplitude, sign`` (centre at the extremum, radius
        ``sqrt(area / pi)`` of the speed-based edge, amplitude in m).
    """
    ssh = check_maps(ssh)
    if (min_amplitude < 0 or min_area < 1 or max_area < min_area or smoothing < 0
            or (highpass is not None and not highpass > 0)):
        raise ValueError(f"bad detector parameters: min_amplitude={min_amplitude}, "
                         f"min_area={min_area}, max_area={max_area}, smoothing={smoothing}, "
                         f"highpass={highpass} (> 0 or None)")
    vals = np.asarray(ssh.values, dtype=float)
    mask = np.zeros(vals.shape, dtype=float)
    rows = []
    for t in range(vals.shape[0]):
        sm = smooth(vals[t], smoothing)
        if highpass is not None:
            sm = sm - smooth(vals[t], highpass)
        for sign, cls in ((1, ANTICYCLONIC), (-1, CYCLONIC)):
            a = sign * sm
            gy, gx = np.gradient(np.where(np.isfinite(a), a, np.nanmean(a)))
            grad = np.hypot(gy, gx)
            peaks = local_maxima(a)
            others = set(peaks)
            for p in peaks:
                pixels, levels, sizes = grow_closed(a, p, others, max_area)
                if not levels:
                    continue
                amp = float(a[p] - levels[-1])
                if amp < min_amplitude or sizes[-1] < min_area:
                    continue
                i = _speed_contour(a, grad, pixels, levels, sizes, dlevel)
                inside = pixels[:sizes[i]]
                ys, xs = zip(*inside, strict=True)
                mask[t, list(ys), list(xs)] = cls
                rows.append((t, float(p[0]), float(p[1]), float(np.sqrt(len(inside) / np.pi)),
                             amp, sign))
    mask[~np.isfinite(vals)] = np.nan
    out = xr.DataArray(mask, dims=ssh.dims, coords=ssh.coords, name="eddy_class",
                       attrs={"units": "1", "long_name": "eddy class (geometric detector)",
                              "flag_values": "0 1 2",
                              "flag_meanings": "background anticyclonic cyclonic"})
    eddies = pd.DataFrame(rows, columns=EDDY_COLUMNS).astype({"time": int, "sign": int})
    return out, eddies
