"""Optimal transport between two sets of equally weighted points: the assignment problem.

For two distributions made of the same number n of point masses 1/n, the Wasserstein-1
distance is the mean cost of the optimal one-to-one assignment (Birkhoff-von Neumann), so
it is solved exactly by the Hungarian algorithm, O(n^3).
"""

from __future__ import annotations

import numpy as np

__all__ = ["optimal_assignment", "transport_distance"]


def optimal_assignment(cost: np.ndarray) -> np.ndarray:
    """Column assigned to each row minimising the total cost (Hungarian algorithm).

    Parameters
    ----------
    cost : numpy.ndarray
        ``(n, n)`` finite cost matrix.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` int: ``perm[i]`` is the column of row i.
    """
    C = np.asarray(cost, dtype=np.float64)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"cost must be a square 2-D array, got shape {C.shape}")
    if not np.all(np.isfinite(C)):
        raise ValueError("cost must be finite")
    n = C.shape[0]
    u = np.zeros(n + 1)
    v = np.zeros(n + 1)
    p = np.zeros(n + 1, dtype=np.int64)  # p[j]: row matched to column j (1-based, 0 = none)
    way = np.zeros(n + 1, dtype=np.int64)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = np.full(n + 1, np.inf)
        used = np.zeros(n + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            cur = C[i0 - 1, :] - u[i0] - v[1:]
            free = ~used[1:]
            better = free & (cur < minv[1:])
            minv[1:][better] = cur[better]
            way[1:][better] = j0
            cand = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(cand)) + 1
            delta = cand[j1 - 1]
            u[p[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    perm = np.empty(n, dtype=np.int64)
    perm[p[1:] - 1] = np.arange(n)
    return perm


def transport_distance(cost: np.ndarray) -> float:
    """Wasserstein-1 distance between n equal masses at the rows and n at the columns of
    ``cost`` (the mean cost of the optimal assignment)."""
    perm = optimal_assignment(cost)
    C = np.asarray(cost, dtype=np.float64)
    return float(C[np.arange(C.shape[0]), perm].mean())
