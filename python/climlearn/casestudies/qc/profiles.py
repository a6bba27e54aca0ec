"""Synthetic ocean temperature profiles with injected faults (truth known).

Each profile is a temperature on fixed depth levels (0-500 m): a mixed layer of uniform
temperature over a thermocline that decays to the deep temperature,
``T(z) = T_deep - g z + (T_surf - T_deep) (1 - tanh(max(z - MLD, 0) / H))``. Profiles
come from a few water masses (tropical, subtropical, subpolar: surface and deep
temperatures), mixed-layer depths (20, 50, 80 m) and thermocline scales (40, 120 m),
each with a small per-profile jitter, plus white sensor noise ``noise_std``
(0.05-0.1 K). Faults use the types of :data:`~.data.FAULT_TYPES`, along depth:

``spike`` (1)
    one level off by 3-12 sigma;
``stuck`` (2)
    the sensor repeats the value of the level above for 3-8 levels;
``drift`` (3)
    an offset over the lower part of the profile (from a random level to the bottom,
    or over 4-10 levels), constant or growing linearly, reaching 4-20 sigma;
``out_of_range`` (4)
    a physically impossible value (a -99.9 missing code, 40-50 C, or -10 to -5 C).

The SIZE of a faulty value is ``|faulty - clean| / noise_std`` of its profile.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .data import truth_variables

__all__ = ["PROFILE_DEPTHS", "make_profiles", "inject_profile_faults"]

#: Default depth levels (m): 10 m to 100 m, 20 m to 300 m, 40 m to 500 m.
PROFILE_DEPTHS = np.r_[np.arange(0.0, 100.0, 10.0), np.arange(100.0, 300.0, 20.0),
                       np.arange(300.0, 501.0, 40.0)]

# (surface, deep) temperatures of the water masses, degC
_WATER_MASSES = ((27.0, 9.0), (20.0, 11.0), (11.0, 4.0))
_MLDS = (20.0, 50.0, 80.0)
_THERMOCLINE_SCALES = (40.0, 120.0)


def _clean_profiles(n: int, depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    wm = rng.integers(0, len(_WATER_MASSES), n)
    ts = np.array([_WATER_MASSES[i][0] for i in wm]) + rng.normal(0.0, 0.3, n)
    td = np.array([_WATER_MASSES[i][1] for i in wm]) + rng.normal(0.0, 0.2, n)
    mld = np.array(_MLDS)[rng.integers(0, len(_MLDS), n)] + rng.normal(0.0, 2.0, n)
    h = np.array(_THERMOCLINE_SCALES)[rng.integers(0, len(_THERMOCLINE_SCALES), n)]
    h = h * rng.uniform(0.95, 1.05, n)
    z = depth[None, :]
    below = np.maximum(z - mld[:, None], 0.0)
    return (td[:, None] - 0.002 * z
            + (ts - td)[:, None] * (1.0 - np.tanh(below / h[:, None])))


def inject_profile_faults(values: np.ndarray, noise_std: np.ndarray,
                          rng: np.random.Generator, *, p_spike: float = 0.3,
                          p_stuck: float = 0.1, p_drift: float = 0.1,
                          p_out_of_range: float = 0.05
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inject faults into (profile, depth) ``values``; ``p_*`` is the probability that a
    profile gets one fault of that type (a fault that would overlap another is skipped).

    Returns the faulty values, the fault type (0 = none, see :data:`~.data.FAULT_TYPES`)
    and the fault size (|faulty - clean| / noise_std, 0 where clean).
    """
    for name, p in (("p_spike", p_spike), ("p_stuck", p_stuck), ("p_drift", p_drift),
                    ("p_out_of_range", p_out_of_range)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {p}")
    x = values.copy()
    kind = np.zeros(values.shape, dtype=np.int8)
    n, m = values.shape
    for s in range(n):
        if rng.random() < p_drift:
            k0 = int(rng.integers(2, m - 4))
            k1 = m if rng.random() < 0.5 else min(m, k0 + int(rng.integers(4, 11)))
            top = rng.uniform(4.0, 20.0) * noise_std[s] * rng.choice([-1.0, 1.0])
            ramp = np.ones(k1 - k0) if rng.random() < 0.5 else \
                np.arange(1, k1 - k0 + 1) / (k1 - k0)
            x[s, k0:k1] += top * ramp
            kind[s, k0:k1] = 3
        if rng.random() < p_stuck:
            length = int(rng.integers(3, 9))
            k0 = int(rng.integers(1, m - length))
            if not kind[s, k0 - 1:k0 + length].any():
                x[s, k0:k0 + length] = x[s, k0 - 1]
                kind[s, k0:k0 + length] = 2
        if rng.random() < p_spike:
            k0 = int(rng.integers(1, m - 1))
            if not kind[s, k0 - 1:k0 + 2].any():
                x[s, k0] += rng.uniform(3.0, 12.0) * noise_std[s] * rng.choice([-1.0, 1.0])
                kind[s, k0] = 1
        if rng.random() < p_out_of_range:
            k0 = int(rng.integers(0, m))
            if not kind[s, max(k0 - 1, 0):k0 + 2].any():
                x[s, k0] = rng.choice([-99.9, rng.uniform(40.0, 50.0),
                                       rng.uniform(-10.0, -5.0)])
                kind[s, k0] = 4
    size = np.abs(x - values) / noise_std[:, None]
    return x, kind, size


def make_profiles(n_profiles: int = 1500, depth: np.ndarray | None = None, *,
                  faults: bool = True, seed: int = 0, **fault_probs: float) -> xr.Dataset:
    """Ocean temperature profiles on fixed depth levels, with injected faults and truth.

    Parameters
    ----------
    n_profiles : int
        Number of profiles (at least 50).
    depth : array, optional
        Increasing depth levels in m (at least 5); default :data:`PROFILE_DEPTHS`
        (26 levels, 0-500 m).
    faults : bool
        Inject faults (False gives clean profiles, for false-flag rates).
    seed : int
        Seed of the numpy Generator.
    **fault_probs
        Per-profile probabilities passed to :func:`inject_profile_faults` (p_spike,
        p_stuck, p_drift, p_out_of_range).

    Returns
    -------
    xarray.Dataset
        ``temperature`` (profile, depth) as measured, ``true_temperature`` (measured
        without faults), ``fault_type``, ``fault_size`` (in noise standard deviations)
        and ``noise_std`` (profile).
    """
    if n_profiles < 50:
        raise ValueError(f"n_profiles must be >= 50, got {n_profiles}")
    depth = PROFILE_DEPTHS if depth is None else np.asarray(depth, dtype=np.float64)
    if depth.ndim != 1 or depth.size < 5 or np.any(np.diff(depth) <= 0):
        raise ValueError(f"depth must be 1-D, increasing, with >= 5 levels, got "
                         f"{depth.size} value(s) of shape {depth.shape}")
    rng = np.random.default_rng(seed)
    truth = _clean_profiles(n_profiles, depth, rng)
    noise = rng.uniform(0.05, 0.1, n_profiles)
    measured = truth + noise[:, None] * rng.standard_normal(truth.shape)
    if faults:
        x, kind, size = inject_profile_faults(measured, noise, rng, **fault_probs)
    else:
        x, kind, size = measured, np.zeros(truth.shape, np.int8), np.zeros(truth.shape)
    dims = ("profile", "depth")
    coords = {"profile": np.arange(n_profiles),
              "depth": ("depth", depth, {"units": "m", "long_name": "depth",
                                         "positive": "down"})}
    return xr.Dataset(
        {"temperature": (dims, x, {"units": "degC",
                                   "long_name": "measured sea water temperature"}),
         **truth_variables(dims, measured, kind, size),
         "noise_std": ("profile", noise, {"units": "K", "long_name": "sensor noise std"})},
        coords=coords, attrs={"title": "synthetic ocean temperature profiles (climlearn)",
                              "seed": seed})
