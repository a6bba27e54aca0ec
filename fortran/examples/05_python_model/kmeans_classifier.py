"""A model that exists only in Python, applied from Fortran (example 05).

A k-means classifier of column profiles (numpy only: Lloyd's algorithm with a seeded
k-means++ start), fitted once on profiles the Fortran host sends, then applied to the
host's field every time step. Functions called from Fortran through ``cl_py_call``:

- ``fit(profiles, nclass)``: ``profiles(nlev, nsample)``, ``nclass(1)`` -> ``centroids(nlev,
  nclass)``;
- ``classify(t)``: ``t(nlev, ncol)`` -> ``label(ncol)`` (1-based, int32) and ``distance(ncol)``
  (Euclidean distance to the chosen centroid).

Arrays arrive in Fortran order with the Fortran shape, so columns are ``t[:, i]``.
"""

from __future__ import annotations

import numpy as np

_STATE: dict[str, np.ndarray] = {}
SEED = 1234
ITERATIONS = 50


def kmeans(points: np.ndarray, k: int, seed: int = SEED,
           iterations: int = ITERATIONS) -> np.ndarray:
    """Centroids ``(k, nfeat)`` of ``points (n, nfeat)`` by Lloyd's algorithm."""
    rng = np.random.default_rng(seed)
    n = len(points)
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= nclass <= number of profiles ({n}), given {k}")
    centroids = [points[rng.integers(n)]]
    for _ in range(1, k):  # k-means++ seeding
        d2 = np.min(((points[:, None, :] - np.array(centroids)[None]) ** 2).sum(-1), axis=1)
        centroids.append(points[rng.choice(n, p=d2 / d2.sum())])
    c = np.array(centroids)
    for _ in range(iterations):
        labels = np.argmin(((points[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        new = np.array([points[labels == j].mean(0) if np.any(labels == j) else c[j]
                        for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return c


def fit(profiles: np.ndarray, nclass: np.ndarray) -> dict[str, np.ndarray]:
    """Fit the classifier on the columns of ``profiles``; return the centroids as columns."""
    c = kmeans(np.array(profiles.T, dtype=np.float64), int(nclass[0]))
    _STATE["centroids"] = c
    return {"centroids": c.T}


def classify(t: np.ndarray) -> dict[str, np.ndarray]:
    """Nearest centroid of every column of ``t``."""
    if "centroids" not in _STATE:
        raise RuntimeError("classify called before fit")
    c = _STATE["centroids"]
    d2 = ((t.T[:, None, :] - c[None]) ** 2).sum(-1)
    label = np.argmin(d2, axis=1)
    return {"label": (label + 1).astype(np.int32),
            "distance": np.sqrt(d2[np.arange(len(label)), label])}
