"""Classical baselines: a least-squares polynomial ``U(X)`` (Wilks 2005), with optional
additive AR(1) noise on its residuals (Arnold et al. 2013)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.polynomial import polynomial as npoly

from ..config import PolyAR1Options, PolyOptions
from ..metrics import r2
from .base import Parametrisation, check_truth
from .noise import AR1Noise

log = logging.getLogger(__name__)

__all__ = ["PolyParametrisation", "PolyAR1Parametrisation"]


class PolyParametrisation(Parametrisation):
    """Deterministic polynomial ``U_k = sum_i c_i X_k^i`` fitted by least squares on all
    ``(X_k, U_k)`` pairs (pooled over k); ``degree`` from the options (default 4)."""

    name = "poly"
    stochastic = False
    _with_noise = False

    def __init__(self, options: PolyOptions | PolyAR1Options | None = None) -> None:
        super().__init__(options if options is not None else PolyOptions())
        self.coeffs: np.ndarray | None = None

    def fit(self, x: np.ndarray, u: np.ndarray, *, seed: int, progress: bool = True
            ) -> dict[str, Any]:
        """Least-squares fit (``numpy.polynomial.polynomial.polyfit``); the seed is
        recorded but nothing here is random. Returns coefficients, R^2 and RMSE on the
        training data, and the AR(1) parameters when the scheme has noise."""
        start = time.perf_counter()
        x, u = check_truth(x, u)
        degree = self.options.degree
        self.coeffs = np.asarray(npoly.polyfit(x.ravel(), u.ravel(), degree),
                                 dtype=np.float64)
        self._fitted = True
        pred = self.predict(x)
        resid = u - pred
        info: dict[str, Any] = {
            "seed": int(seed),
            "degree": int(degree),
            "coeffs": self.coeffs.tolist(),
            "n_samples": int(x.size),
            "train_r2": r2(u, pred),
            "train_rmse": float(np.sqrt(np.mean(resid ** 2))),
        }
        if self._with_noise:
            self.noise = AR1Noise.fit(resid)
            info.update(self.noise.to_dict())
        info["seconds"] = time.perf_counter() - start
        self.info = info
        log.info("fitted %s: coeffs %s, R2 %.4f%s", self.name,
                 np.array2string(self.coeffs, precision=5), info["train_r2"],
                 f", phi {info['phi']:.4f}, sigma {info['sigma']:.4f}"
                 if self._with_noise else "")
        return info

    def predict(self, x: np.ndarray) -> np.ndarray:
        """``sum_i c_i x^i`` elementwise, any shape, float64."""
        self._require_fitted("predict")
        return npoly.polyval(np.asarray(x, dtype=np.float64), self.coeffs)

    def export(self, out_dir: str | os.PathLike, *,
               metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Spec ``{"kind": "poly", "coeffs": [c0, c1, ...], "phi", "sigma"}``; also writes
        ``<out_dir>/<name>.json`` (spec, options, training information)."""
        self._require_fitted("export")
        spec = {"kind": "poly", "coeffs": [float(c) for c in self.coeffs],
                **self._noise_spec()}
        self._write_json(Path(out_dir), spec, metadata)
        return spec


class PolyAR1Parametrisation(PolyParametrisation):
    """Polynomial (default cubic) plus additive AR(1) noise fitted on its residuals at
    the coarse step, pooled over k (Arnold et al. 2013)."""

    name = "poly_ar1"
    stochastic = True
    _with_noise = True

    def __init__(self, options: PolyAR1Options | None = None) -> None:
        super().__init__(options if options is not None else PolyAR1Options())
