"""Metrics of the Lorenz 96 testbed (pure numpy).

- offline: :func:`r2` of U given X; :func:`hellinger` distance between histograms of
  predicted and true U (Gagne et al. 2020);
- climate: :func:`kl_divergence` KL(truth || model) of the X histograms, 827 bins on
  [-12, 17] (Parthipan et al. 2023), see :func:`climate_kl`;
- weather: :func:`ensemble_mean_rmse` against truth per lead time.

Metrics are also looked up by name: ``get_metric("kl")``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

log = logging.getLogger(__name__)

__all__ = [
    "KL_BINS", "KL_RANGE", "KL_FLOOR", "r2", "bin_edges", "histogram", "kl_divergence",
    "hellinger", "climate_kl", "ensemble_mean_rmse", "ensemble_spread", "get_metric",
    "available_metrics",
]

KL_BINS = 827
"""Bins of the X histogram for the climate KL divergence (Parthipan et al. 2023)."""
KL_RANGE = (-12.0, 17.0)
"""Range of the X histogram for the climate KL divergence."""
KL_FLOOR = 1e-10
"""Floor on the model's bin probabilities in :func:`kl_divergence`."""


def r2(u_true: np.ndarray, u_pred: np.ndarray) -> float:
    """Coefficient of determination over all samples (all axes pooled).

    ``1 - sum (u_true - u_pred)^2 / sum (u_true - mean(u_true))^2``: 1 for a perfect
    prediction, 0 for predicting the mean, negative for worse.

    Raises
    ------
    ValueError
        Shapes differ, an array is empty or non-finite, or ``u_true`` is constant.
    """
    a = np.asarray(u_true, dtype=np.float64)
    b = np.asarray(u_pred, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"r2: shapes differ: u_true {a.shape}, u_pred {b.shape}")
    if a.size == 0:
        raise ValueError("r2: empty arrays")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("r2: inputs contain NaN or Inf")
    ss_tot = float(np.sum((a - a.mean()) ** 2))
    if ss_tot == 0.0:
        raise ValueError("r2: u_true is constant; R^2 is undefined")
    return 1.0 - float(np.sum((a - b) ** 2)) / ss_tot


def bin_edges(bins: int = KL_BINS, range: tuple[float, float] = KL_RANGE) -> np.ndarray:
    """The ``bins + 1`` edges of :func:`histogram` (equal bins over ``range``)."""
    lo, hi = float(range[0]), float(range[1])
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi) or int(bins) < 1:
        raise ValueError(f"histogram: need bins >= 1 and a finite range lo < hi, given "
                         f"bins={bins}, range={range}")
    return np.linspace(lo, hi, int(bins) + 1)


def histogram(x: np.ndarray, bins: int = KL_BINS, range: tuple[float, float] = KL_RANGE,
              density: bool = False) -> np.ndarray:
    """Normalised histogram of all values of ``x`` on ``bins`` equal bins over ``range``.

    Parameters
    ----------
    x
        Values, any shape (all are pooled).
    bins, range
        The binning; default 827 bins on [-12, 17] (Parthipan et al. 2023). Edges:
        :func:`bin_edges`.
    density
        False (default): the fraction of the values in each bin. True: that fraction
        divided by the bin width (a probability density).

    Returns
    -------
    numpy.ndarray
        ``(bins,)``. Fractions are of ALL values of ``x``, including values outside
        ``range`` and non-finite ones (a run that blew up): the histogram then sums
        (integrates) to the fraction inside the range, less than 1, and a warning is
        logged. :func:`kl_divergence` and :func:`hellinger` renormalise.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("histogram: no values")
    edges = bin_edges(bins, range)
    counts, _ = np.histogram(x[np.isfinite(x)], bins=edges)
    outside = 1.0 - counts.sum() / x.size
    if outside > 0:
        log.warning("histogram: %.3g%% of the values lie outside [%g, %g] or are not "
                    "finite", 100 * outside, edges[0], edges[-1])
    frac = counts / x.size
    return frac / np.diff(edges) if density else frac


def _probabilities(p: np.ndarray, what: str) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError(f"{what} must be finite and non-negative")
    total = p.sum()
    if total <= 0:
        raise ValueError(f"{what} has no mass")
    return p / total


def kl_divergence(p_truth: np.ndarray, q_model: np.ndarray, eps: float = KL_FLOOR) -> float:
    """KL(truth || model) = ``sum_i p_i ln(p_i / q_i)`` of two histograms, in nats.

    Both are normalised to probabilities over their bins (counts, densities on equal
    bins, or probabilities are all accepted). Bins where the truth has no mass contribute
    0. Bins where the truth has mass and the model none would make the divergence
    infinite; instead the model's probabilities are floored at ``eps`` (default 1e-10)
    and renormalised (which keeps KL >= 0), and a warning says how many bins and how
    much truth mass were affected. With a model that never visits a region the truth
    visits, the result is then dominated by ``p ln(p / eps)`` terms: large, finite, and
    dependent on ``eps``.

    Raises
    ------
    ValueError
        Shapes differ, negative or non-finite entries, an empty histogram, eps <= 0.
    """
    p = _probabilities(p_truth, "p_truth")
    q = _probabilities(q_model, "q_model")
    if p.shape != q.shape:
        raise ValueError(f"kl_divergence: shapes differ: {p.shape} and {q.shape}")
    if not eps > 0:
        raise ValueError(f"kl_divergence: eps must be > 0, given {eps}")
    empty = (p > 0) & (q == 0)
    if empty.any():
        log.warning("kl_divergence: %d bins holding %.3g of the truth's mass are empty in "
                    "the model; their model probability is floored at %g",
                    int(empty.sum()), float(p[empty].sum()), eps)
    q = np.maximum(q, eps)
    q = q / q.sum()
    mask = p > 0
    return float(max(np.sum(p[mask] * np.log(p[mask] / q[mask])), 0.0))


def hellinger(p: np.ndarray, q: np.ndarray) -> float:
    """Hellinger distance ``sqrt(1 - sum_i sqrt(p_i q_i))`` of two normalised histograms.

    Equal to ``||sqrt(p) - sqrt(q)||_2 / sqrt(2)``; in [0, 1], symmetric, 0 for equal
    and 1 for disjoint histograms. Inputs are normalised as in :func:`kl_divergence`.
    """
    p = _probabilities(p, "p")
    q = _probabilities(q, "q")
    if p.shape != q.shape:
        raise ValueError(f"hellinger: shapes differ: {p.shape} and {q.shape}")
    bc = float(np.sum(np.sqrt(p * q)))
    return float(np.sqrt(max(0.0, 1.0 - bc)))


def climate_kl(x_truth: np.ndarray, x_model: np.ndarray, bins: int = KL_BINS,
               range: tuple[float, float] = KL_RANGE, eps: float = KL_FLOOR
               ) -> float:
    """KL(truth || model) of the histograms of all values of two runs' X (827 bins on
    [-12, 17] by default, as in Parthipan et al. 2023)."""
    p = histogram(x_truth, bins, range)
    q = histogram(x_model, bins, range)
    return kl_divergence(p, q, eps)


def _check_ensemble(truth: np.ndarray, forecasts: np.ndarray) -> tuple[np.ndarray,
                                                                       np.ndarray]:
    t = np.asarray(truth, dtype=np.float64)
    f = np.asarray(forecasts, dtype=np.float64)
    if t.ndim != 3 or f.ndim != 4 or f.shape[0] != t.shape[0] or f.shape[2:] != t.shape[1:]:
        raise ValueError(f"expected truth (ninit, nlead, K) and forecasts (ninit, nens, "
                         f"nlead, K) with matching ninit, nlead, K; given truth {t.shape}, "
                         f"forecasts {f.shape}")
    if f.shape[1] < 1:
        raise ValueError("forecasts have no ensemble members")
    return t, f


def ensemble_mean_rmse(truth: np.ndarray, forecasts: np.ndarray) -> np.ndarray:
    """RMSE of the ensemble mean against the truth, per lead time.

    Parameters
    ----------
    truth
        ``(ninit, nlead, K)``: the truth from each initial condition at each lead.
    forecasts
        ``(ninit, nens, nlead, K)``: the ensemble members.

    Returns
    -------
    numpy.ndarray
        ``(nlead,)``: ``sqrt(mean over initial conditions and k of (mean_members - truth)^2)``
        (the mean square is taken over initial conditions before the square root).
        Non-finite forecasts (a blown-up member) give NaN at the affected leads.
    """
    t, f = _check_ensemble(truth, forecasts)
    err = f.mean(axis=1) - t
    return np.sqrt(np.mean(err ** 2, axis=(0, 2)))


def ensemble_spread(forecasts: np.ndarray) -> np.ndarray:
    """Ensemble spread per lead: ``sqrt(mean over initial conditions and k of the
    unbiased variance across members)``, to set against :func:`ensemble_mean_rmse`.

    ``forecasts`` has shape ``(ninit, nens, nlead, K)`` with ``nens >= 2``.
    """
    f = np.asarray(forecasts, dtype=np.float64)
    if f.ndim != 4 or f.shape[1] < 2:
        raise ValueError(f"expected forecasts (ninit, nens >= 2, nlead, K), given {f.shape}")
    return np.sqrt(np.mean(f.var(axis=1, ddof=1), axis=(0, 2)))


_METRICS: dict[str, Callable[..., object]] = {
    "r2": r2,
    "kl": kl_divergence,
    "climate_kl": climate_kl,
    "hellinger": hellinger,
    "ensemble_mean_rmse": ensemble_mean_rmse,
    "ensemble_spread": ensemble_spread,
}


def available_metrics() -> list[str]:
    """Names accepted by :func:`get_metric`."""
    return sorted(_METRICS)


def get_metric(name: str) -> Callable[..., object]:
    """The metric function registered as ``name``.

    Raises
    ------
    ValueError
        Unknown name; the message lists the valid names.
    """
    try:
        return _METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; valid names are: "
                         f"{', '.join(available_metrics())}") from None
