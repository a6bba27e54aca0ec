"""Pixel-region helpers for the eddy detectors (pure numpy, no image library)."""

from __future__ import annotations

import heapq
from collections import deque

import numpy as np

_N4 = ((-1, 0), (1, 0), (0, -1), (0, 1))


def smooth(a: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing of a 2-D map that ignores NaN pixels (they stay NaN)."""
    if sigma <= 0:
        return a.copy()
    ok = np.isfinite(a)
    num, den = np.where(ok, a, 0.0), ok.astype(float)
    for axis in (0, 1):
        # a kernel longer than the map would make np.convolve(mode="same") longer too
        half = min(int(np.ceil(3 * sigma)), (a.shape[axis] - 1) // 2)
        k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
        num = np.apply_along_axis(lambda v, k=k: np.convolve(v, k, mode="same"), axis, num)
        den = np.apply_along_axis(lambda v, k=k: np.convolve(v, k, mode="same"), axis, den)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[~ok] = np.nan
    return out


def local_maxima(a: np.ndarray) -> list[tuple[int, int]]:
    """Interior pixels strictly greater than their 8 neighbours (NaN never counts)."""
    ny, nx = a.shape
    c = a[1:-1, 1:-1]
    is_max = np.isfinite(c)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            nb = a[1 + dy:ny - 1 + dy, 1 + dx:nx - 1 + dx]
            is_max &= c > np.where(np.isfinite(nb), nb, -np.inf)
    ys, xs = np.nonzero(is_max)
    return list(zip((ys + 1).tolist(), (xs + 1).tolist(), strict=True))


def label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Connected components (4-connectivity) of a boolean map: labels 1..n, 0 outside."""
    ny, nx = mask.shape
    lab = np.zeros(mask.shape, dtype=np.int32)
    n = 0
    for y0, x0 in zip(*np.nonzero(mask), strict=True):
        if lab[y0, x0]:
            continue
        n += 1
        lab[y0, x0] = n
        queue = deque([(y0, x0)])
        while queue:
            y, x = queue.popleft()
            for dy, dx in _N4:
                yy, xx = y + dy, x + dx
                if 0 <= yy < ny and 0 <= xx < nx and mask[yy, xx] and not lab[yy, xx]:
                    lab[yy, xx] = n
                    queue.append((yy, xx))
    return lab, n


def grow_closed(a: np.ndarray, start: tuple[int, int], others: set[tuple[int, int]],
                max_area: int) -> tuple[list[tuple[int, int]], list[float], list[int]]:
    """Grow the superlevel region of ``a`` around the maximum ``start`` (priority flood).

    Pixels are added highest first. The region after ``k`` additions is the connected
    component of ``{a >= level_k}`` containing ``start`` (a region bounded by a closed
    contour) whenever every pixel still outside it is lower than ``level_k``. Growth
    stops before the region would touch the map edge or a NaN pixel, include another
    maximum of ``others``, or exceed ``max_area`` pixels.

    Returns
    -------
    pixels
        Pixels in the order they were added.
    levels
        Contour levels of the closed regions found, from the top down.
    sizes
        Number of pixels of each of those closed regions.
    """
    ny, nx = a.shape
    seen = {start}
    heap = [(-a[start], start)]
    pixels: list[tuple[int, int]] = []
    levels: list[float] = []
    sizes: list[int] = []
    level = np.inf
    while heap:
        negv, p = heapq.heappop(heap)
        y, x = p
        if y == 0 or x == 0 or y == ny - 1 or x == nx - 1 or (p in others and p != start):
            break
        if len(pixels) >= max_area:
            break
        pixels.append(p)
        level = min(level, -negv)
        for dy, dx in _N4:
            q = (y + dy, x + dx)
            if q in seen:
                continue
            seen.add(q)
            v = a[q]
            if not np.isfinite(v):
                heap = []  # a NaN neighbour: this contour is not closed over the ocean
                break
            heapq.heappush(heap, (-v, q))
        else:
            if heap and -heap[0][0] < level:
                levels.append(float(level))
                sizes.append(len(pixels))
            continue
        break
    return pixels, levels, sizes
