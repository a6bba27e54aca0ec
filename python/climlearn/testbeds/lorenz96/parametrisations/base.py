"""The interface every Lorenz 96 sub-grid parametrisation implements."""

from __future__ import annotations

import dataclasses
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .noise import AR1Noise

__all__ = ["Parametrisation", "check_truth"]


def check_truth(x: Any, u: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate training data: float arrays ``(ntime, K)`` of the same shape, finite.

    Returns the two arrays as float64.
    """
    x = np.asarray(x, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    if x.ndim != 2 or x.shape != u.shape:
        raise ValueError(f"x and u must both have shape (ntime, K); given x {x.shape}, "
                         f"u {u.shape}")
    if x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"need at least 2 time samples and 1 variable, given {x.shape}")
    for name, a in (("x", x), ("u", u)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or Inf")
    return x, u


class Parametrisation(ABC):
    """A parametrisation of the sub-grid tendency ``U_k`` from the resolved state ``X``.

    The coarse model is ``dX_k/dt = -X_{k-1}(X_{k-2} - X_{k+1}) - X_k + F - U_k`` with
    ``U_k = predict(X)_k`` plus, for stochastic schemes, the AR(1) noise whose parameters
    :meth:`noise_params` returns (advanced once per coarse step, independently per k).

    Attributes
    ----------
    name
        The registry name.
    stochastic
        Whether the scheme carries noise (then :meth:`noise_params` is not None after
        fitting).
    options
        The validated options dataclass (see :mod:`..config`).
    """

    name: str = "base"
    stochastic: bool = False

    def __init__(self, options: Any) -> None:
        self.options = options
        self.stochastic = type(self).stochastic
        self.noise: AR1Noise | None = None
        self.info: dict[str, Any] = {}
        self._fitted = False

    # ---- to implement ----------------------------------------------------------------

    @abstractmethod
    def fit(self, x: np.ndarray, u: np.ndarray, *, seed: int, progress: bool = True
            ) -> dict[str, Any]:
        """Fit on consecutive truth samples.

        Parameters
        ----------
        x, u
            float64 arrays ``(ntime, K)``: the resolved state and the sub-grid tendency,
            sampled every coarse step (0.005 MTU), consecutive in time along axis 0.
        seed
            Seeds every random choice (initial weights, shuffling, subsampling).
        progress
            Show a progress bar (only when on a terminal).

        Returns
        -------
        dict
            Training information (JSON-serialisable): losses, epochs, noise parameters.
        """

    @abstractmethod
    def predict(self, x: np.ndarray) -> np.ndarray:
        """Deterministic part of ``U`` for states ``x`` of shape ``(..., K)``, float64."""

    @abstractmethod
    def export(self, out_dir: str | os.PathLike, *,
               metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Write what a coupled run needs to ``out_dir``; return the coupling spec.

        The spec is ``{"kind": "network", "model_path": str, "halfwidth": int,
        "phi": float, "sigma": float}`` or ``{"kind": "poly", "coeffs": [c0, c1, ...],
        "phi": float, "sigma": float}`` (ascending powers; ``phi = sigma = 0`` without
        noise). ``metadata`` is recorded with the export (e.g. the forcing).
        """

    # ---- shared ----------------------------------------------------------------------

    def noise_params(self) -> dict[str, float] | None:
        """``{"phi": ..., "sigma": ...}`` of the fitted AR(1) noise, or None."""
        return None if self.noise is None else self.noise.to_dict()

    @property
    def fitted(self) -> bool:
        """Whether :meth:`fit` has run."""
        return self._fitted

    def _require_fitted(self, what: str) -> None:
        if not self._fitted:
            raise RuntimeError(f"{self.name}: call fit() before {what}()")

    def _noise_spec(self) -> dict[str, float]:
        params = self.noise_params() or {"phi": 0.0, "sigma": 0.0}
        return {"phi": float(params["phi"]), "sigma": float(params["sigma"])}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description: name, options, noise, training information."""
        opts = dataclasses.asdict(self.options) if dataclasses.is_dataclass(
            self.options) else dict(self.options or {})
        opts = {k: list(v) if isinstance(v, tuple) else v for k, v in opts.items()}
        return {"name": self.name, "stochastic": self.stochastic, "options": opts,
                "noise": self.noise_params(), "info": self.info}

    def summary(self) -> str:
        """One line for logs."""
        noise = self.noise_params()
        extra = (f", AR(1) phi={noise['phi']:.4f} sigma={noise['sigma']:.4f}"
                 if noise else "")
        state = "fitted" if self._fitted else "not fitted"
        return f"{self.name} ({state}{extra})"

    def _write_json(self, out_dir: Path, spec: dict[str, Any],
                    metadata: Mapping[str, Any] | None) -> None:
        record = {"spec": spec, **self.to_dict(), "metadata": dict(metadata or {})}
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"{self.name}.json").write_text(json.dumps(record, indent=1))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.summary()}>"
