"""Synthetic station network with injected faults (truth known) for quality control.

A network of ``n_stations`` hourly air-temperature series shares the regional weather
(an AR(1) anomaly with a 2-day memory) and a slow seasonal trend; each station has its
own offset, diurnal amplitude and white sensor noise ``noise_std`` (0.25-0.5 K). Faults
are then injected, each with a known type and a known SIZE, the absolute difference from
the true value in units of that station's noise standard deviation:

``spike`` (1)
    a single value off by 3-12 sigma;
``stuck`` (2)
    the sensor repeats its last value for 6-30 hours;
``drift`` (3)
    an offset growing linearly to 4-20 sigma over 2-8 days, then corrected;
``out_of_range`` (4)
    a physically impossible value (a -99.9 missing code, 85-99 C, or -60 to -45 C).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["FAULT_TYPES", "make_network", "inject_faults"]

FAULT_TYPES = {0: "none", 1: "spike", 2: "stuck", 3: "drift", 4: "out_of_range"}


def truth_variables(dims: tuple[str, str], clean: np.ndarray, kind: np.ndarray,
                    size: np.ndarray) -> dict[str, tuple]:
    """The known truth of a synthetic QC data set, as Dataset variables on ``dims``:
    ``true_temperature`` (degC), ``fault_type`` (:data:`FAULT_TYPES`) and ``fault_size``
    (|faulty - clean| in noise standard deviations)."""
    return {"true_temperature": (dims, clean, {"units": "degC",
                                              "long_name": "measurement without faults"}),
            "fault_type": (dims, kind, {"long_name": "injected fault type",
                                        "flag_values": list(FAULT_TYPES),
                                        "flag_meanings": " ".join(FAULT_TYPES.values())}),
            "fault_size": (dims, size, {"units": "1", "long_name":
                                        "|faulty - clean| in noise standard deviations"})}


def _clean_network(n_stations: int, n_hours: int, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n_hours)
    hour = t % 24
    phi = np.exp(-1.0 / 48.0)
    shocks = rng.standard_normal(n_hours) * 2.0 * np.sqrt(1 - phi ** 2)
    weather = np.empty(n_hours)
    weather[0] = rng.normal(0.0, 2.0)
    for i in range(1, n_hours):
        weather[i] = phi * weather[i - 1] + shocks[i]
    season = 4.0 * np.sin(2 * np.pi * t / (24 * 365.0))
    offset = rng.uniform(-3.0, 3.0, n_stations)
    amp = rng.uniform(3.0, 7.0, n_stations)
    lag = rng.uniform(13.0, 16.0, n_stations)
    noise = rng.uniform(0.25, 0.5, n_stations)
    truth = (18.0 + offset[:, None] + season[None, :] + weather[None, :]
             + amp[:, None] * np.cos(2 * np.pi * (hour[None, :] - lag[:, None]) / 24.0))
    return truth, noise


def inject_faults(values: np.ndarray, noise_std: np.ndarray, rng: np.random.Generator, *,
                  spikes: int = 8, stuck: int = 2, drifts: int = 1, out_of_range: int = 3
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inject faults into (station, time) ``values``; counts are per station.

    Returns the faulty values, the fault type (0 = none, see :data:`FAULT_TYPES`) and the
    fault size (|faulty - clean| / noise_std, 0 where clean).
    """
    x = values.copy()
    kind = np.zeros(values.shape, dtype=np.int8)
    n_st, n_t = values.shape
    for s in range(n_st):
        for _ in range(drifts):
            length = int(rng.integers(48, 193))
            t0 = int(rng.integers(0, n_t - length))
            if kind[s, t0:t0 + length].any():
                continue
            top = rng.uniform(4.0, 20.0) * noise_std[s] * rng.choice([-1.0, 1.0])
            x[s, t0:t0 + length] += top * np.arange(1, length + 1) / length
            kind[s, t0:t0 + length] = 3
        for _ in range(stuck):
            length = int(rng.integers(6, 31))
            t0 = int(rng.integers(1, n_t - length))
            if kind[s, t0 - 1:t0 + length].any():
                continue
            x[s, t0:t0 + length] = x[s, t0 - 1]
            kind[s, t0:t0 + length] = 2
        for _ in range(spikes):
            t0 = int(rng.integers(1, n_t - 1))
            if kind[s, t0 - 1:t0 + 2].any():
                continue
            x[s, t0] += rng.uniform(3.0, 12.0) * noise_std[s] * rng.choice([-1.0, 1.0])
            kind[s, t0] = 1
        for _ in range(out_of_range):
            t0 = int(rng.integers(1, n_t - 1))
            if kind[s, t0 - 1:t0 + 2].any():
                continue
            x[s, t0] = rng.choice([-99.9, rng.uniform(85.0, 99.0), rng.uniform(-60.0, -45.0)])
            kind[s, t0] = 4
    size = np.abs(x - values) / noise_std[:, None]
    return x, kind, size


def make_network(n_stations: int = 8, n_days: int = 90, *, faults: bool = True,
                 seed: int = 0, **fault_counts: int) -> xr.Dataset:
    """Hourly temperatures of a station network, with injected faults and the truth.

    Parameters
    ----------
    n_stations : int
        Stations (at least 3, so that each has neighbours).
    n_days : int
        Length in days (at least 10).
    faults : bool
        Inject faults (False gives clean data, for false-alarm rates).
    seed : int
        Seed of the numpy Generator.
    **fault_counts
        Per-station counts passed to :func:`inject_faults` (spikes, stuck, drifts,
        out_of_range).

    Returns
    -------
    xarray.Dataset
        ``temperature`` (station, time) as measured, ``true_temperature``, ``fault_type``
        (0 none, 1 spike, 2 stuck, 3 drift, 4 out_of_range), ``fault_size`` (in noise
        standard deviations) and ``noise_std`` (station).
    """
    if n_stations < 3:
        raise ValueError(f"n_stations must be >= 3, got {n_stations}")
    if n_days < 10:
        raise ValueError(f"n_days must be >= 10, got {n_days}")
    rng = np.random.default_rng(seed)
    truth, noise = _clean_network(n_stations, 24 * n_days, rng)
    measured = truth + noise[:, None] * rng.standard_normal(truth.shape)
    if faults:
        x, kind, size = inject_faults(measured, noise, rng, **fault_counts)
    else:
        x, kind, size = measured, np.zeros(truth.shape, np.int8), np.zeros(truth.shape)
    dims = ("station", "time")
    coords = {"station": [f"S{i + 1:02d}" for i in range(n_stations)],
              "time": ("time", np.arange(24 * n_days), {"units": "hours since start"})}
    return xr.Dataset(
        {"temperature": (dims, x, {"units": "degC", "long_name": "measured air temperature"}),
         **truth_variables(dims, measured, kind, size),
         "noise_std": ("station", noise, {"units": "K", "long_name": "sensor noise std"})},
        coords=coords, attrs={"title": "synthetic station network (climlearn)", "seed": seed})
