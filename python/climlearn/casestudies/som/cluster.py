"""Agglomerative hierarchical clustering of SOM codebooks (numpy, Lance-Williams updates).

A map has a few hundred units at most, so the plain O(units^3) agglomeration is fast and
avoids a SciPy dependency. Ward linkage works on squared Euclidean distances, as in
SciPy's ``linkage(method="ward")``.
"""

from __future__ import annotations

import numpy as np

LINKAGES = ("ward", "average", "complete", "single")


def hierarchical_clusters(points: np.ndarray, n_classes: int, method: str = "ward") -> np.ndarray:
    """Cut an agglomerative clustering of ``points`` into ``n_classes`` classes.

    Parameters
    ----------
    points
        ``(n, d)`` finite array (for a SOM: the codebook).
    n_classes
        Number of classes, ``1 <= n_classes <= n``.
    method
        Linkage: ``"ward"``, ``"average"``, ``"complete"`` or ``"single"``.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` int labels in ``0 .. n_classes - 1``, numbered by first appearance.
    """
    if method not in LINKAGES:
        raise ValueError(f"unknown linkage {method!r}; valid: {', '.join(LINKAGES)}")
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2:
        raise ValueError(f"points must be 2-D (n, d), got shape {pts.shape}")
    n = pts.shape[0]
    if not 1 <= int(n_classes) <= n:
        raise ValueError(f"n_classes must be in 1..{n} (number of points), got {n_classes}")
    if not np.all(np.isfinite(pts)):
        raise ValueError("points contain NaN or inf; clustering needs a finite codebook")
    d = ((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1)
    if method != "ward":
        d = np.sqrt(d)
    size = np.ones(n)
    active = np.ones(n, dtype=bool)
    label = np.arange(n)
    big = np.inf
    work = d.copy()
    np.fill_diagonal(work, big)
    for _ in range(n - int(n_classes)):
        flat = np.argmin(work)
        i, j = divmod(int(flat), n)
        if i > j:
            i, j = j, i
        # merge j into i, update distances from the merged cluster to every other one
        ni, nj, nk = size[i], size[j], size
        dij = work[i, j]
        if method == "ward":
            new = ((ni + nk) * work[i] + (nj + nk) * work[j] - nk * dij) / (ni + nj + nk)
        elif method == "average":
            new = (ni * work[i] + nj * work[j]) / (ni + nj)
        elif method == "complete":
            new = np.maximum(work[i], work[j])
        else:
            new = np.minimum(work[i], work[j])
        new[~active] = big
        new[i] = big
        new[j] = big
        work[i, :] = new
        work[:, i] = new
        work[j, :] = big
        work[:, j] = big
        size[i] = ni + nj
        active[j] = False
        label[label == j] = i
    _, first = np.unique(label, return_index=True)
    order = np.argsort(first)
    roots = label[np.sort(first)]
    remap = {int(r): k for k, r in enumerate(roots)}
    del order
    return np.array([remap[int(v)] for v in label], dtype=np.int64)
