"""Rank statistics: ranks with ties averaged, Spearman correlation."""

from __future__ import annotations

import numpy as np

__all__ = ["rankdata", "spearman"]


def rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x`` (ascending), ties get the mean of their ranks."""
    x = np.asarray(x, dtype=np.float64).ravel()
    order = np.argsort(x, kind="stable")
    ranks = np.empty(x.size)
    ranks[order] = np.arange(1, x.size + 1)
    _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    return sums[inv] / counts[inv]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (Pearson correlation of the tie-averaged ranks)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.size != b.size:
        raise ValueError(f"arrays differ in length: {a.size} vs {b.size}")
    if a.size < 2:
        raise ValueError(f"need at least 2 values, got {a.size}")
    ra, rb = rankdata(a) - (a.size + 1) / 2, rankdata(b) - (b.size + 1) / 2
    den = np.sqrt((ra ** 2).sum() * (rb ** 2).sum())
    if den == 0:
        raise ValueError("Spearman correlation undefined: one input is constant")
    return float((ra * rb).sum() / den)
