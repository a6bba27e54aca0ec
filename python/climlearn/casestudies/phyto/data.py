"""Synthetic bio-optical data with known truth for the phytoplankton case study.

A handful of latent water types (dominant phytoplankton groups) set the chlorophyll level,
the sea-surface temperature, the pigment composition (ratios of diagnostic pigments to
total chlorophyll a) and the optical properties. Each sample is a mixture dominated by one
type. Remote-sensing reflectances follow a simple semi-analytical model,
``Rrs = 0.0949 u + 0.0794 u^2`` with ``u = bb / (a + bb)`` (Gordon et al. 1988), where the
absorption ``a`` sums water, phytoplankton (type-dependent spectral shape, package effect
through ``chl^-0.3``) and coloured dissolved matter, and the backscattering ``bb`` sums
water and particles (type-dependent spectral slope). The numbers are plausible orders of
magnitude, not a calibrated model.

In-situ pigments are mostly missing: most samples have no pigment at all (no match-up), the
others miss a few pigments, for a chosen overall missing fraction.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

BANDS = np.array([412.0, 443.0, 490.0, 510.0, 555.0, 670.0])
PIGMENTS = ("tchla", "fuco", "perid", "hex_fuco", "but_fuco", "zea", "tchlb")
PIGMENT_NAMES = {
    "tchla": "total chlorophyll a", "fuco": "fucoxanthin", "perid": "peridinin",
    "hex_fuco": "19'-hexanoyloxyfucoxanthin", "but_fuco": "19'-butanoyloxyfucoxanthin",
    "zea": "zeaxanthin", "tchlb": "total chlorophyll b"}
# latent water types: name, log10 chl mean and sd, SST mean and sd (degC),
# pigment / tchla ratios (fuco, perid, hex, but, zea, tchlb), phytoplankton absorption
# shape factor per band, particle backscattering slope, CDOM fraction
TYPES = (
    ("diatoms", 0.35, 0.25, 11.0, 2.5, (0.60, 0.02, 0.05, 0.02, 0.01, 0.03),
     (0.85, 0.85, 0.95, 1.05, 1.20, 0.95), 0.3, 0.15),
    ("haptophytes", -0.30, 0.20, 16.0, 2.5, (0.08, 0.02, 0.55, 0.10, 0.03, 0.05),
     (1.00, 1.05, 1.05, 1.00, 0.90, 1.00), 1.0, 0.08),
    ("prokaryotes", -1.10, 0.20, 26.0, 1.5, (0.01, 0.00, 0.06, 0.03, 0.70, 0.10),
     (1.10, 1.15, 1.30, 1.10, 0.80, 1.00), 1.8, 0.04),
    ("dinoflagellates", 0.55, 0.25, 20.0, 2.0, (0.10, 0.50, 0.04, 0.02, 0.02, 0.03),
     (0.90, 0.90, 1.05, 1.15, 1.10, 0.95), 0.6, 0.20),
    ("green_algae", 0.00, 0.25, 18.5, 2.5, (0.04, 0.01, 0.05, 0.02, 0.05, 0.45),
     (1.05, 1.00, 0.85, 0.80, 0.85, 1.20), 1.2, 0.10),
    ("pelagophytes", -0.55, 0.20, 22.0, 2.0, (0.06, 0.01, 0.12, 0.40, 0.10, 0.04),
     (1.00, 1.10, 1.10, 1.05, 0.85, 1.00), 1.5, 0.06),
)
_A_W = np.array([0.0046, 0.0071, 0.0150, 0.0325, 0.0596, 0.4390])   # pure water, 1/m
_BB_W = np.array([0.0033, 0.0024, 0.0016, 0.0013, 0.0009, 0.0004])  # 1/m
_APH_STAR = np.array([0.040, 0.045, 0.032, 0.024, 0.010, 0.020])    # m2/mg at chl = 1


def type_names(n_types: int) -> list[str]:
    """Names of the first ``n_types`` latent water types."""
    return [t[0] for t in TYPES[:n_types]]


def make_phyto_dataset(n_samples: int = 4000, *, n_types: int = 5,
                       missing_fraction: float = 0.8, seed: int = 0,
                       purity: float = 8.0) -> xr.Dataset:
    """Generate matched satellite and in-situ pigment samples with known truth.

    Parameters
    ----------
    n_samples
        Number of samples.
    n_types
        Number of latent water types, 4 to 6.
    missing_fraction
        Overall fraction of missing pigment values, in [0, 0.95].
    seed
        Random seed.
    purity
        Dirichlet concentration on the dominant type (larger: purer samples).

    Returns
    -------
    xarray.Dataset
        ``rrs`` (sample, band) in sr-1, ``sst`` (sample) in degC, ``chl`` (sample)
        satellite chlorophyll in mg m-3, ``pigments`` (sample, pigment) in mg m-3 with NaN
        where not measured; truth: ``pigments_true`` (sample, pigment), ``water_type``
        (sample, index of the dominant latent type), ``type_fraction`` (sample, type).
    """
    if not 4 <= int(n_types) <= len(TYPES):
        raise ValueError(f"n_types must be in 4..{len(TYPES)}, got {n_types}")
    if not 0.0 <= missing_fraction <= 0.95:
        raise ValueError(f"missing_fraction must be in [0, 0.95], got {missing_fraction}")
    if int(n_samples) < 10:
        raise ValueError(f"n_samples must be >= 10, got {n_samples}")
    rng = np.random.default_rng(seed)
    n, k = int(n_samples), int(n_types)
    types = TYPES[:k]
    dom = rng.integers(0, k, size=n)
    alpha = np.ones((n, k))
    alpha[np.arange(n), dom] = purity
    frac = np.array([rng.dirichlet(a) for a in alpha])
    dom = frac.argmax(1)

    def mix(values):
        return frac @ np.asarray(values, dtype=float)

    log_chl = mix([t[1] for t in types]) + rng.normal(size=n) * mix([t[2] for t in types])
    chl = 10.0 ** log_chl
    sst = mix([t[3] for t in types]) + rng.normal(size=n) * mix([t[4] for t in types])
    ratios = frac @ np.maximum(np.array([t[5] for t in types]), 0.005)   # (n, 6)
    ratios = ratios * 10.0 ** (0.12 * rng.normal(size=ratios.shape))
    pig_true = np.concatenate([chl[:, None], chl[:, None] * ratios], axis=1)

    shape = frac @ np.array([t[6] for t in types])                   # (n, bands)
    slope = mix([t[7] for t in types])
    cdom_frac = mix([t[8] for t in types])
    a_ph = _APH_STAR * shape * chl[:, None] ** 0.7
    a_g440 = cdom_frac * 0.3 * chl ** 0.6 * 10.0 ** (0.1 * rng.normal(size=n))
    a_g = a_g440[:, None] * np.exp(-0.017 * (BANDS - 440.0))
    bb_p = 0.0025 * chl[:, None] ** 0.62 * (555.0 / BANDS) ** slope[:, None]
    a = _A_W + a_ph + a_g
    bb = _BB_W + bb_p
    u = bb / (a + bb)
    rrs = 0.0949 * u + 0.0794 * u ** 2
    rrs = rrs * (1.0 + 0.02 * rng.normal(size=rrs.shape)) + 5e-5 * rng.normal(size=rrs.shape)
    rrs = np.clip(rrs, 1e-5, None)
    chl_sat = chl * 10.0 ** (0.08 * rng.normal(size=n))
    sst_sat = sst + 0.3 * rng.normal(size=n)

    # missing pigments: whole samples without match-up, plus scattered gaps in the others
    n_pig = len(PIGMENTS)
    p_sample = min(missing_fraction / 0.95, 1.0) * 0.9
    p_inner = (missing_fraction - p_sample) / (1.0 - p_sample) if p_sample < 1 else 0.0
    miss = np.repeat(rng.random(n)[:, None] < p_sample, n_pig, axis=1)
    miss |= rng.random((n, n_pig)) < max(p_inner, 0.0)
    pig_obs = np.where(miss, np.nan, pig_true)

    sample = np.arange(n)
    ds = xr.Dataset(
        {
            "rrs": (("sample", "band"), rrs,
                    {"units": "sr-1", "long_name": "remote-sensing reflectance"}),
            "sst": (("sample",), sst_sat, {"units": "degC",
                                           "long_name": "sea surface temperature"}),
            "chl": (("sample",), chl_sat, {"units": "mg m-3",
                                           "long_name": "satellite chlorophyll a"}),
            "pigments": (("sample", "pigment"), pig_obs,
                         {"units": "mg m-3",
                          "long_name": "in-situ pigment concentration (NaN: not measured)"}),
            "pigments_true": (("sample", "pigment"), pig_true,
                              {"units": "mg m-3", "long_name": "true pigment concentration"}),
            "water_type": (("sample",), dom,
                           {"units": "1", "long_name": "dominant latent water type",
                            "flag_values": np.arange(k),
                            "flag_meanings": " ".join(type_names(k))}),
            "type_fraction": (("sample", "water_type_name"), frac,
                              {"units": "1", "long_name": "latent water type fractions"}),
        },
        coords={
            "sample": ("sample", sample, {"long_name": "sample index", "units": "1"}),
            "band": ("band", BANDS, {"units": "nm", "long_name": "band centre wavelength"}),
            "pigment": ("pigment", list(PIGMENTS), {"long_name": "pigment"}),
            "water_type_name": ("water_type_name", type_names(k),
                                {"long_name": "latent water type"}),
        },
        attrs={"title": "climlearn synthetic bio-optical match-ups",
               "Conventions": "CF-1.8", "seed": seed,
               "missing_fraction_requested": missing_fraction,
               "missing_fraction_actual": float(np.isnan(pig_obs).mean())},
    )
    return ds
