"""PNG figures of map sequences, motion fields and scores (matplotlib, Agg backend)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = ["plot_motion", "plot_scores", "plot_sequences"]


def _plt():  # noqa: ANN202 - the pyplot module
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> Path:  # noqa: ANN001
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial.png")
    fig.savefig(tmp, dpi=90, bbox_inches="tight")
    _plt().close(fig)
    os.replace(tmp, path)
    return path


def plot_sequences(rows: Mapping[str, xr.DataArray], path: str | os.PathLike,
                   dim: str | None = None, max_columns: int = 6, cmap: str = "viridis",
                   title: str = "", vmin: float | None = None,
                   vmax: float | None = None) -> Path:
    """One row of maps per entry of ``rows`` (e.g. truth and each forecast), one column
    per step of ``dim`` (default: the first dim), on a common colour scale.

    Parameters
    ----------
    rows
        Row label to a DataArray ``(step, y, x)``; all with the same number of steps.
    path
        Output PNG, written atomically.
    dim
        Step dimension (``"time"`` or ``"lead"``); default: each array's first dim.
    max_columns
        At most this many steps are drawn (evenly spaced).
    """
    if not rows:
        raise ValueError("rows is empty: nothing to plot")
    plt = _plt()
    arrays = {k: (v if dim is None else v.transpose(dim, ...)) for k, v in rows.items()}
    nsteps = {k: a.shape[0] for k, a in arrays.items()}
    if len(set(nsteps.values())) != 1:
        raise ValueError(f"rows have different numbers of steps: {nsteps}")
    n = next(iter(nsteps.values()))
    cols = np.unique(np.linspace(0, n - 1, min(n, max_columns)).round().astype(int))
    vals = np.concatenate([a.values[cols].ravel() for a in arrays.values()])
    vals = vals[np.isfinite(vals)]
    lo = vmin if vmin is not None else (float(np.percentile(vals, 1)) if vals.size else 0.0)
    hi = vmax if vmax is not None else (float(np.percentile(vals, 99)) if vals.size else 1.0)
    fig, axes = plt.subplots(len(arrays), len(cols), squeeze=False,
                             figsize=(1.8 * len(cols) + 1.0, 1.8 * len(arrays)))
    im = None
    for r, (label, a) in enumerate(arrays.items()):
        step_dim = a.dims[0]
        for c, k in enumerate(cols):
            ax = axes[r, c]
            im = ax.imshow(a.values[k], origin="lower", cmap=cmap, vmin=lo, vmax=hi)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                coord = a[step_dim].values[k] if step_dim in a.coords else k
                ax.set_title(f"{step_dim} {coord:g}" if np.isscalar(coord) else str(coord),
                             fontsize=8)
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
    units = next(iter(arrays.values())).attrs.get("units", "")
    fig.colorbar(im, ax=axes, shrink=0.8, label=units)
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def plot_motion(motions: Mapping[str, xr.Dataset], path: str | os.PathLike,
                background: xr.DataArray | None = None, stride: int = 3) -> Path:
    """Quiver plots of motion fields (``u``, ``v`` in pixels per step), side by side."""
    if not motions:
        raise ValueError("motions is empty: nothing to plot")
    plt = _plt()
    fig, axes = plt.subplots(1, len(motions), squeeze=False,
                             figsize=(3.0 * len(motions), 3.0))
    for ax, (label, m) in zip(axes[0], motions.items(), strict=True):
        if background is not None:
            ax.imshow(background.values, origin="lower", cmap="Greys", alpha=0.6)
        ny, nx = m.u.shape
        yy, xx = np.mgrid[0:ny:stride, 0:nx:stride]
        ax.quiver(xx, yy, m.u.values[::stride, ::stride], m.v.values[::stride, ::stride],
                  angles="xy", scale_units="xy", scale=0.5)
        ax.set_title(label, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    return _save(fig, path)


def plot_scores(scores: Mapping[str, Sequence[float]], path: str | os.PathLike,
                ylabel: str, x: Sequence[float] | None = None, xlabel: str = "lead (steps)",
                title: str = "", logy: bool = False) -> Path:
    """Line plot of scores against lead time, one line per method."""
    if not scores:
        raise ValueError("scores is empty: nothing to plot")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for label, s in scores.items():
        s = np.asarray(s, dtype=float)
        xs = np.arange(1, s.size + 1) if x is None else np.asarray(x)
        ax.plot(xs, s, marker="o", ms=3, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)
