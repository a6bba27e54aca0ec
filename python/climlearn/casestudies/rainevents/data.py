"""Synthetic convective and stratiform rain events and their 23 candidate indicators.

Each event is a 1-minute rain-rate series (mm/h). Convective events are short, intense,
peaked early and intermittent; stratiform events are long, weak, smooth and peaked near
the middle. From each series :func:`make_events` computes N = 23 indicators of three
kinds (``kind`` coordinate):

- ``core`` (17): physically distinct descriptors (duration, peak and mean rate, amount,
  variability, dry fraction, timing, maximum accumulations, ...);
- ``redundant`` (3): near-copies or functions of core ones (log of the amount, duration in
  hours with a small reading error, peak rate in inches per hour with rounding noise);
- ``noise`` (3): pure noise, independent of the event (start hour, a gauge number, a
  Gaussian draw).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["INDICATORS", "make_events", "event_series"]

#: name -> (kind, units, long name, log-transform before standardising)
INDICATORS: dict[str, tuple[str, str, str, bool]] = {
    "duration": ("core", "min", "event duration", True),
    "peak_rate": ("core", "mm h-1", "peak 1-min rain rate", True),
    "mean_rate": ("core", "mm h-1", "mean rain rate over wet minutes", True),
    "median_rate": ("core", "mm h-1", "median rain rate over wet minutes", True),
    "amount": ("core", "mm", "event rain amount", True),
    "std_rate": ("core", "mm h-1", "standard deviation of the rain rate", True),
    "cv_rate": ("core", "1", "coefficient of variation of the rain rate", False),
    "dry_fraction": ("core", "1", "fraction of dry minutes inside the event", False),
    "time_to_peak": ("core", "1", "time of the peak as a fraction of the duration", False),
    "max_5min": ("core", "mm", "maximum 5-min accumulation", True),
    "max_30min": ("core", "mm", "maximum 30-min accumulation", True),
    "frac_above_10": ("core", "1", "fraction of wet minutes above 10 mm/h", False),
    "n_peaks": ("core", "1", "number of local maxima above half the peak rate", False),
    "skewness": ("core", "1", "skewness of the wet-minute rain rates", False),
    "peak_to_mean": ("core", "1", "peak rate over mean rate", True),
    "roughness": ("core", "mm h-1", "mean absolute minute-to-minute rate change", True),
    "peak_share_10min": ("core", "1", "share of the amount within 10 min of the peak",
                         False),
    "log_amount": ("redundant", "1", "log10 of the amount (function of amount)", False),
    "duration_hours": ("redundant", "h", "duration in hours, with reading error", True),
    "peak_rate_in": ("redundant", "in h-1", "peak rate in inches per hour, rounded", True),
    "start_hour": ("noise", "h", "local start hour (independent of the event)", False),
    "gauge_number": ("noise", "1", "gauge number (independent of the event)", False),
    "noise_gauss": ("noise", "1", "Gaussian draw (independent of the event)", False),
}


def event_series(kind: str, rng: np.random.Generator) -> np.ndarray:
    """One event: rain rate (mm/h) per minute; ``kind`` is 'convective' or 'stratiform'."""
    if kind == "convective":
        duration = int(np.clip(rng.lognormal(np.log(50.0), 0.5), 10, 240))
        peak = rng.lognormal(np.log(35.0), 0.5)
        t_peak = rng.uniform(0.15, 0.35)
        width_up, width_down = 0.08, 0.25
        noise, p_dry = 0.45, 0.08
    elif kind == "stratiform":
        duration = int(np.clip(rng.lognormal(np.log(240.0), 0.5), 40, 900))
        peak = rng.lognormal(np.log(6.0), 0.5)
        t_peak = rng.uniform(0.35, 0.65)
        width_up, width_down = 0.35, 0.35
        noise, p_dry = 0.15, 0.02
    else:
        raise ValueError(f"unknown event kind {kind!r}; expected 'convective' or "
                         f"'stratiform'")
    s = np.linspace(0.0, 1.0, duration)
    width = np.where(s < t_peak, width_up, width_down)
    shape = np.exp(-0.5 * ((s - t_peak) / width) ** 2)
    rate = peak * shape * rng.lognormal(0.0, noise, duration)
    rate[rng.random(duration) < p_dry] = 0.0
    rate[0] = max(rate[0], 0.1)
    rate[-1] = max(rate[-1], 0.1)
    return rate


def _indicators(rate: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
    wet = rate[rate > 0]
    duration = float(rate.size)
    amount = rate.sum() / 60.0
    mean = wet.mean()
    std = wet.std()
    ipk = int(np.argmax(rate))
    csum = np.concatenate([[0.0], np.cumsum(rate) / 60.0])

    def max_accum(w: int) -> float:
        w = min(w, rate.size)
        return float((csum[w:] - csum[:-w]).max())

    half = rate.max() / 2
    inner = rate[1:-1]
    n_peaks = int(np.sum((inner > rate[:-2]) & (inner >= rate[2:]) & (inner > half)))
    lo, hi = max(ipk - 10, 0), min(ipk + 11, rate.size)
    z = (wet - mean) / max(std, 1e-9)
    return {
        "duration": duration,
        "peak_rate": float(rate.max()),
        "mean_rate": float(mean),
        "median_rate": float(np.median(wet)),
        "amount": float(amount),
        "std_rate": float(std),
        "cv_rate": float(std / mean),
        "dry_fraction": float(1.0 - wet.size / rate.size),
        "time_to_peak": float(ipk / max(rate.size - 1, 1)),
        "max_5min": max_accum(5),
        "max_30min": max_accum(30),
        "frac_above_10": float(np.mean(wet > 10.0)),
        "n_peaks": float(max(n_peaks, 1)),
        "skewness": float(np.mean(z ** 3)),
        "peak_to_mean": float(rate.max() / mean),
        "roughness": float(np.abs(np.diff(rate)).mean()),
        "peak_share_10min": float(rate[lo:hi].sum() / 60.0 / amount),
        "log_amount": float(np.log10(amount)),
        "duration_hours": float(duration / 60.0 * rng.lognormal(0.0, 0.02)),
        "peak_rate_in": float(np.round(rate.max() / 25.4, 1) + rng.uniform(0.0, 0.01)),
        "start_hour": float(rng.uniform(0.0, 24.0)),
        "gauge_number": float(rng.integers(1, 40)),
        "noise_gauss": float(rng.normal()),
    }


def make_events(n_events: int = 400, convective_fraction: float = 0.5,
                seed: int = 0) -> xr.Dataset:
    """Synthetic rain events and their indicators.

    Parameters
    ----------
    n_events : int
        Number of events (at least 4).
    convective_fraction : float
        Expected share of convective events, in (0, 1).
    seed : int
        Seed of the numpy Generator.

    Returns
    -------
    xarray.Dataset
        ``indicators`` (event, indicator), with coordinates ``kind`` (core, redundant,
        noise), ``units``, ``log_transform`` per indicator; ``event_type`` (event):
        0 = stratiform, 1 = convective (the truth).
    """
    if n_events < 4:
        raise ValueError(f"n_events must be >= 4, got {n_events}")
    if not 0.0 < convective_fraction < 1.0:
        raise ValueError(f"convective_fraction must be in (0, 1), got {convective_fraction}")
    rng = np.random.default_rng(seed)
    types = (rng.random(n_events) < convective_fraction).astype(np.int8)
    types[:2] = [0, 1]  # both classes present
    names = list(INDICATORS)
    values = np.empty((n_events, len(names)))
    for i, t in enumerate(types):
        ind = _indicators(event_series("convective" if t else "stratiform", rng), rng)
        values[i] = [ind[k] for k in names]
    da = xr.DataArray(
        values, dims=("event", "indicator"),
        coords={"event": np.arange(n_events), "indicator": names,
                "kind": ("indicator", [INDICATORS[k][0] for k in names]),
                "units": ("indicator", [INDICATORS[k][1] for k in names]),
                "log_transform": ("indicator", [INDICATORS[k][3] for k in names])},
        attrs={"long_name": "rain event indicators"})
    etype = xr.DataArray(types, dims="event",
                         attrs={"long_name": "event type (truth)", "units": "1",
                                "flag_values": [0, 1],
                                "flag_meanings": "stratiform convective"})
    return xr.Dataset({"indicators": da, "event_type": etype},
                      attrs={"title": "synthetic rain events (climlearn)", "seed": seed})
