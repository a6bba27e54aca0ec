"""Additive AR(1) noise fitted on the residuals of a deterministic parametrisation.

Arnold et al. (2013): the stochastic parametrisation is ``U(X) + e`` with, at every
coarse time step and independently for each k,

    e_t = phi e_{t-1} + sigma (1 - phi^2)^(1/2) z_t,    z_t ~ N(0, 1),

so that ``e`` is stationary with standard deviation ``sigma`` and lag-1 autocorrelation
``phi``. Both are fitted on the residuals ``r = U_true - U(X)`` of the truth sampled at the
coarse step (0.005 MTU: consecutive samples), pooled over k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["AR1Noise"]


@dataclass(frozen=True)
class AR1Noise:
    """Stationary AR(1) process with lag-1 autocorrelation ``phi`` and std ``sigma``."""

    phi: float
    sigma: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.phi) and -1.0 < self.phi < 1.0):
            raise ValueError(f"AR(1) phi must be in (-1, 1), given {self.phi}")
        if not (np.isfinite(self.sigma) and self.sigma >= 0.0):
            raise ValueError(f"AR(1) sigma must be >= 0, given {self.sigma}")

    @classmethod
    def fit(cls, residuals: np.ndarray) -> AR1Noise:
        """Fit on residuals of shape ``(ntime, K)``, consecutive in time along axis 0.

        ``sigma`` is the standard deviation of all residuals about their pooled mean;
        ``phi`` the lag-1 autocorrelation pooled over k::

            phi = sum_{t,k} r'_{t,k} r'_{t+1,k} / sum_{t,k} r'_{t,k}^2,   r' = r - mean(r)

        (the denominator runs over all ``ntime`` samples, the usual estimator, which
        keeps ``|phi| < 1``). A non-zero residual mean is a bias of the deterministic
        part that zero-mean noise cannot represent; it is not modelled.

        Raises
        ------
        ValueError
            Fewer than two time samples, non-finite residuals, or constant residuals.
        """
        r = np.asarray(residuals, dtype=np.float64)
        if r.ndim == 1:
            r = r[:, None]
        if r.ndim != 2 or r.shape[0] < 2:
            raise ValueError(f"residuals must have shape (ntime >= 2, K), given {r.shape}")
        if not np.isfinite(r).all():
            raise ValueError("residuals contain NaN or Inf")
        r = r - r.mean()
        var = float(np.sum(r * r))
        if var == 0.0:
            raise ValueError("residuals are constant: the AR(1) autocorrelation is undefined")
        phi = float(np.sum(r[1:] * r[:-1]) / var)
        sigma = float(np.sqrt(var / r.size))
        return cls(phi=phi, sigma=sigma)

    def to_dict(self) -> dict[str, float]:
        """``{"phi": ..., "sigma": ...}``."""
        return {"phi": float(self.phi), "sigma": float(self.sigma)}

    def initial(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """A draw from the stationary distribution, N(0, sigma^2)."""
        return self.sigma * rng.standard_normal(shape)

    def step(self, e: np.ndarray, rng: np.random.Generator | None = None, *,
             z: np.ndarray | None = None) -> np.ndarray:
        """Advance the noise one coarse time step: ``phi e + sigma sqrt(1 - phi^2) z``.

        Pass either a generator ``rng`` or the standard normal draws ``z``.
        """
        e = np.asarray(e, dtype=np.float64)
        if z is None:
            if rng is None:
                raise ValueError("step() needs a generator rng or the normal draws z")
            z = rng.standard_normal(e.shape)
        return self.phi * e + self.sigma * np.sqrt(1.0 - self.phi ** 2) * z

    def sample(self, ntime: int, shape: tuple[int, ...], rng: np.random.Generator
               ) -> np.ndarray:
        """A stationary series of shape ``(ntime, *shape)``."""
        out = np.empty((ntime, *shape))
        if ntime == 0:
            return out
        out[0] = self.initial(shape, rng)
        z = rng.standard_normal((ntime, *shape))
        for t in range(1, ntime):
            out[t] = self.step(out[t - 1], z=z[t])
        return out
