"""Clustering agreement: contingency table and adjusted Rand index (Hubert and Arabie 1985)."""

from __future__ import annotations

import numpy as np

__all__ = ["contingency", "adjusted_rand_index"]


def contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Contingency table ``n[i, j]`` = number of items with label i in ``a`` and j in ``b``.

    Labels may be any hashable values; rows and columns follow ``np.unique`` order.
    """
    a = np.asarray(a).ravel()
    b = np.asarray(b).ravel()
    if a.shape != b.shape:
        raise ValueError(f"label arrays differ in length: {a.size} vs {b.size}")
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    table = np.zeros((ia.max() + 1, ib.max() + 1), dtype=np.int64)
    np.add.at(table, (ia, ib), 1)
    return table


def _pairs(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x * (x - 1.0) / 2.0


def adjusted_rand_index(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Adjusted Rand index between two partitions (1 = identical, ~0 = chance).

    ``ARI = (sum_ij C(n_ij,2) - E) / (0.5 (sum_i C(a_i,2) + sum_j C(b_j,2)) - E)`` with
    ``E = sum_i C(a_i,2) sum_j C(b_j,2) / C(n,2)``. Invariant to relabelling.
    """
    table = contingency(labels_true, labels_pred)
    n = table.sum()
    if n < 2:
        raise ValueError(f"need at least 2 labelled items, got {n}")
    sum_ij = _pairs(table).sum()
    sum_a = _pairs(table.sum(axis=1)).sum()
    sum_b = _pairs(table.sum(axis=0)).sum()
    expected = sum_a * sum_b / _pairs(n)
    max_index = 0.5 * (sum_a + sum_b)
    if max_index == expected:  # both partitions trivial (one class, or all singletons)
        return 1.0
    return float((sum_ij - expected) / (max_index - expected))
