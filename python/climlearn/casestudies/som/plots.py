"""PNG figures of a fitted SOM: U-matrix, component planes and class map (matplotlib, Agg)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def u_matrix(som) -> np.ndarray:
    """Mean codebook distance of each unit to its adjacent units, ``(n_units,)``."""
    C = som.codebook
    d = np.sqrt(((C[:, None, :] - C[None, :, :]) ** 2).sum(-1))
    adj = som._adj
    return (d * adj).sum(1) / adj.sum(1)


def _cells(som):
    """Polygons of the units (squares or hexagons) centred on ``som.unit_coords``."""
    xy = som.unit_coords
    if som.topology == "hexagonal":
        ang = np.deg2rad(np.arange(6) * 60 + 30)
        rad = 1.0 / np.sqrt(3.0)
        shape = np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)
    else:
        shape = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    return [p + shape for p in xy]


def _draw(ax, som, values, cmap="viridis", title="", discrete=False):
    from matplotlib.collections import PolyCollection

    coll = PolyCollection(_cells(som), array=np.asarray(values, dtype=float), cmap=cmap,
                          edgecolors="face", linewidths=0.3)
    if discrete:
        n = int(np.max(values)) + 1
        coll.set_clim(-0.5, n - 0.5)
    ax.add_collection(coll)
    xy = som.unit_coords
    ax.set_xlim(xy[:, 0].min() - 0.7, xy[:, 0].max() + 0.7)
    ax.set_ylim(xy[:, 1].max() + 0.7, xy[:, 1].min() - 0.7)    # row 0 at the top
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    return coll


def _save(fig, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def plot_umatrix(som, path: str | Path, title: str = "U-matrix") -> Path:
    """Write the U-matrix (mean distance to neighbouring units) as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4.5))
    coll = _draw(ax, som, u_matrix(som), cmap="bone_r", title=title)
    fig.colorbar(coll, ax=ax, label="mean distance to neighbours")
    return _save(fig, path)


def plot_component_planes(som, path: str | Path, features: Sequence[int | str] | None = None,
                          ncols: int = 4) -> Path:
    """Write one small map per feature (codebook component planes) as a PNG.

    Parameters
    ----------
    som
        Fitted SOM.
    path
        Output PNG.
    features
        Feature indices or names (default: all, at most 16).
    ncols
        Panels per row.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = som.feature_names or [f"f{i}" for i in range(som.n_features)]
    if features is None:
        idx = list(range(min(som.n_features, 16)))
    else:
        idx = []
        for f in features:
            if isinstance(f, str):
                if f not in names:
                    raise ValueError(f"unknown feature {f!r}; valid: {', '.join(names)}")
                idx.append(names.index(f))
            else:
                if not 0 <= int(f) < som.n_features:
                    raise ValueError(f"feature index {f} out of range 0..{som.n_features - 1}")
                idx.append(int(f))
    nrows = int(np.ceil(len(idx) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3 * ncols, 2.8 * nrows), squeeze=False)
    C = som.codebook
    for ax, i in zip(axes.flat, idx, strict=False):
        coll = _draw(ax, som, C[:, i], title=names[i])
        fig.colorbar(coll, ax=ax, fraction=0.046)
    for ax in list(axes.flat)[len(idx):]:
        ax.axis("off")
    return _save(fig, path)


def plot_class_map(som, classes: np.ndarray, path: str | Path,
                   title: str = "SOM classes") -> Path:
    """Write the class of each unit (e.g. from :meth:`SOM.cluster`) as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes = np.asarray(classes)
    if classes.shape != (som.n_units,):
        raise ValueError(f"classes must have shape ({som.n_units},) (one per unit), "
                         f"got {classes.shape}")
    fig, ax = plt.subplots(figsize=(5, 4.5))
    n = int(classes.max()) + 1
    coll = _draw(ax, som, classes, cmap=plt.get_cmap("tab10" if n <= 10 else "tab20", n),
                 title=title, discrete=True)
    fig.colorbar(coll, ax=ax, ticks=range(n), label="class")
    return _save(fig, path)
