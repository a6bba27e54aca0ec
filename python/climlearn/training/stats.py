"""Normalisation statistics of the training samples, in one streaming pass.

Means and standard deviations per feature are dask reductions over the sample dimensions
of the training part of the data (computed in float64, chunk by chunk, with dask's
pairwise merge of per-chunk moments), so the data never need to fit in memory.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .data import ChunkedSamples, VariableLayout

log = logging.getLogger(__name__)

__all__ = ["FeatureStats", "feature_stats"]

_REL_TINY = 1e-7  # below float32 resolution relative to the mean: a constant feature


@dataclass(frozen=True)
class FeatureStats:
    """Per-feature mean and standard deviation of the inputs and outputs (float64).

    Attributes
    ----------
    x_mean, x_std, y_mean, y_std
        Vectors of length ``n_in`` / ``n_out``. A constant feature gets std 1 (it is only
        centred), listed in ``constant``.
    n_samples
        Samples the statistics were computed on.
    constant
        ``"name[flat index]"`` of the features found constant.
    """

    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: np.ndarray
    y_std: np.ndarray
    n_samples: int
    constant: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {"x_mean": self.x_mean.tolist(), "x_std": self.x_std.tolist(),
                "y_mean": self.y_mean.tolist(), "y_std": self.y_std.tolist(),
                "n_samples": self.n_samples, "constant": list(self.constant)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureStats:
        """Inverse of :meth:`as_dict`."""
        return cls(**{k: np.asarray(d[k], dtype=np.float64)
                      for k in ("x_mean", "x_std", "y_mean", "y_std")},
                   n_samples=int(d["n_samples"]), constant=tuple(d.get("constant", ())))

    def save(self, path: str | os.PathLike) -> Path:
        """Write as JSON atomically."""
        from ._io import atomic_write_text

        return atomic_write_text(path, json.dumps(self.as_dict(), indent=1))


def _vector(values: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in values])


def feature_stats(samples: ChunkedSamples, stop_step: int | None = None) -> FeatureStats:
    """Mean and standard deviation (ddof 0) of every input and output feature over the
    samples of steps ``0 .. stop_step-1`` of the streamed dimension.

    Raises
    ------
    ValueError
        A variable has NaN/Inf values in that range (the message names it and counts
        them).
    """
    import dask

    ds = samples.dataset
    stop = samples.n_steps if stop_step is None else int(stop_step)
    part = ds.isel({samples.stream_dim: slice(0, stop)})
    layouts: list[VariableLayout] = samples.inputs + samples.outputs
    lazy = []
    for lay in layouts:
        v = part[lay.name].astype(np.float64)
        lazy.append(v.mean(samples.sample_dims, skipna=False).transpose(*lay.feature_dims))
        lazy.append(v.std(samples.sample_dims, skipna=False).transpose(*lay.feature_dims))
    done = dask.compute(*[a.data for a in lazy], scheduler="synchronous")
    means, stds = [np.asarray(m) for m in done[0::2]], [np.asarray(s) for s in done[1::2]]
    for lay, m, s in zip(layouts, means, stds, strict=True):
        if not (np.isfinite(m).all() and np.isfinite(s).all()):
            bad = int((~np.isfinite(part[lay.name])).sum().compute(scheduler="synchronous"))
            raise ValueError(f"variable {lay.name!r} has {bad} NaN/Inf value(s) in the "
                             f"training part ({samples.stream_dim} steps 0..{stop - 1}); "
                             "training data must be finite")
    n_in = len(samples.inputs)
    vectors = {"x_mean": _vector(means[:n_in]), "x_std": _vector(stds[:n_in]),
               "y_mean": _vector(means[n_in:]), "y_std": _vector(stds[n_in:])}
    constant = []
    for side, lays in (("x", samples.inputs), ("y", samples.outputs)):
        mean, std = vectors[f"{side}_mean"], vectors[f"{side}_std"]
        flat = (std == 0) | (std <= _REL_TINY * np.abs(mean))
        for i in np.flatnonzero(flat):
            lay = next(v for v in lays if v.start <= i < v.stop)
            constant.append(f"{lay.name}[{i - lay.start}]")
        std[flat] = 1.0
    if constant:
        log.warning("constant feature(s) %s: standard deviation set to 1", constant)
    return FeatureStats(**vectors, n_samples=stop * samples.n_other,
                        constant=tuple(constant))
