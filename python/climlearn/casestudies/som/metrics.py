"""Small evaluation helpers shared by the SOM case studies (numpy only)."""

from __future__ import annotations

import numpy as np


def adjusted_rand_index(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Adjusted Rand index of two partitions (Hubert and Arabie 1985).

    1 for identical partitions (up to renaming), about 0 for independent ones.
    """
    a = np.asarray(labels_true).ravel()
    b = np.asarray(labels_pred).ravel()
    if a.shape != b.shape:
        raise ValueError(f"label arrays differ in length: {a.size} vs {b.size}")
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(table, (ai, bi), 1)

    def pairs(x):
        return (x * (x - 1) / 2.0).sum()

    n = a.size
    s_ij = pairs(table)
    s_a = pairs(table.sum(1))
    s_b = pairs(table.sum(0))
    expected = s_a * s_b / (n * (n - 1) / 2.0) if n > 1 else 0.0
    top = 0.5 * (s_a + s_b)
    if top == expected:
        return 1.0
    return float((s_ij - expected) / (top - expected))
