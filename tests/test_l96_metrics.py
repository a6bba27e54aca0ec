"""Lorenz 96 metrics against analytic properties and closed forms."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

from climlearn.testbeds.lorenz96 import metrics as m


def gaussian_bins(mean: float, std: float, edges: np.ndarray) -> np.ndarray:
    """Exact probability of each bin under N(mean, std^2)."""
    cdf = np.array([0.5 * (1 + math.erf((e - mean) / (std * math.sqrt(2)))) for e in edges])
    return np.diff(cdf)


def kl_gauss(m1: float, s1: float, m2: float, s2: float) -> float:
    """KL(N(m1, s1^2) || N(m2, s2^2))."""
    return 0.5 * ((s1 / s2) ** 2 + (m2 - m1) ** 2 / s2 ** 2 - 1 + 2 * math.log(s2 / s1))


EDGES = np.linspace(*m.KL_RANGE, m.KL_BINS + 1)


# ---- r2 ------------------------------------------------------------------------------

def test_r2_perfect_mean_and_worse():
    rng = np.random.default_rng(0)
    u = rng.normal(2.0, 3.0, (500, 8))
    assert m.r2(u, u) == 1.0
    assert m.r2(u, np.full_like(u, u.mean())) == pytest.approx(0.0, abs=1e-12)
    assert m.r2(u, u.mean() - (u - u.mean())) == pytest.approx(-3.0)
    noisy = u + rng.normal(0.0, 1.0, u.shape)  # variance ratio 1/9
    assert m.r2(u, noisy) == pytest.approx(1 - 1 / 9, abs=0.02)


def test_r2_errors():
    with pytest.raises(ValueError, match="shapes differ"):
        m.r2(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="constant"):
        m.r2(np.ones(5), np.ones(5))
    with pytest.raises(ValueError, match="NaN"):
        m.r2(np.array([1.0, 2.0]), np.array([1.0, np.nan]))


# ---- histogram -----------------------------------------------------------------------

def test_histogram_with_the_published_binning():
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 4.0, (50_000, 2))
    frac = m.histogram(x)
    edges = m.bin_edges()
    assert frac.shape == (827,) and edges.shape == (828,)
    assert edges[0] == -12 and edges[-1] == 17
    inside = np.mean((x >= -12) & (x <= 17))
    assert np.sum(frac) == pytest.approx(inside)
    np.testing.assert_allclose(frac, np.histogram(x, 827, (-12, 17))[0] / x.size)
    dens = m.histogram(x, density=True)
    np.testing.assert_allclose(dens, frac / (29 / 827))
    assert np.sum(dens * np.diff(edges)) == pytest.approx(inside)


def test_histogram_counts_values_outside_and_non_finite(caplog):
    x = np.array([0.0, 1.0, 100.0, np.nan])
    with caplog.at_level(logging.WARNING):
        frac = m.histogram(x, bins=2, range=(0.0, 2.0))
    np.testing.assert_array_equal(frac, [0.25, 0.25])
    assert "outside" in caplog.text
    with pytest.raises(ValueError, match="range"):
        m.histogram(x, bins=2, range=(2.0, 0.0))


# ---- KL ------------------------------------------------------------------------------

def test_kl_of_identical_histograms_is_zero_and_kl_is_non_negative():
    rng = np.random.default_rng(2)
    p = rng.random(827)
    assert m.kl_divergence(p, p) == 0.0
    assert m.kl_divergence(p, 3.0 * p) == pytest.approx(0.0, abs=1e-15)  # scale-free
    for _ in range(20):
        q = rng.random(827) * (rng.random(827) > 0.1)
        assert m.kl_divergence(p, q) >= 0.0
        assert m.kl_divergence(q, p) >= 0.0


@pytest.mark.parametrize("m1,s1,m2,s2", [(2.0, 3.0, 2.5, 3.5), (2.5, 2.5, 2.5, 1.8),
                                         (0.0, 2.0, 4.0, 3.0)])
def test_kl_of_gaussian_histograms_matches_closed_form(m1, s1, m2, s2):
    p, q = gaussian_bins(m1, s1, EDGES), gaussian_bins(m2, s2, EDGES)
    assert m.kl_divergence(p, q) == pytest.approx(kl_gauss(m1, s1, m2, s2), rel=2e-3)


def test_climate_kl_from_samples_matches_closed_form():
    rng = np.random.default_rng(3)
    a, b = rng.normal(3.0, 4.0, 400_000), rng.normal(3.5, 4.5, 400_000)
    want = kl_gauss(3.0, 4.0, 3.5, 4.5)  # 0.0190; sampling adds ~ bins / (2 n)
    assert m.climate_kl(a, b) == pytest.approx(want, abs=0.004)


def test_kl_floor_keeps_missing_model_mass_finite_and_warns(caplog):
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([1.0, 0.0, 0.0])
    with caplog.at_level(logging.WARNING):
        kl = m.kl_divergence(p, q)
    assert np.isfinite(kl)
    # p ln(p/q) with q floored at 1e-10 and renormalised (sum 1 + 2e-10)
    want = 0.5 * math.log(0.5 / (1 / (1 + 2e-10))) + 0.5 * math.log(0.5 / (1e-10 / (1 + 2e-10)))
    assert kl == pytest.approx(want, rel=1e-9)
    assert "empty in the model" in caplog.text
    assert m.kl_divergence(p, q, eps=1e-5) < kl


def test_kl_errors():
    with pytest.raises(ValueError, match="shapes differ"):
        m.kl_divergence(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="non-negative"):
        m.kl_divergence(np.array([1.0, -1.0]), np.ones(2))
    with pytest.raises(ValueError, match="no mass"):
        m.kl_divergence(np.zeros(3), np.ones(3))


# ---- Hellinger -----------------------------------------------------------------------

def test_hellinger_range_symmetry_and_both_forms():
    rng = np.random.default_rng(4)
    for _ in range(20):
        p = rng.random(50) * (rng.random(50) > 0.3)
        q = rng.random(50) * (rng.random(50) > 0.3)
        h = m.hellinger(p, q)
        assert 0.0 <= h <= 1.0
        assert h == pytest.approx(m.hellinger(q, p), abs=1e-15)
        pn, qn = p / p.sum(), q / q.sum()
        other = np.linalg.norm(np.sqrt(pn) - np.sqrt(qn)) / math.sqrt(2)
        assert h == pytest.approx(other, rel=1e-9, abs=1e-12)
    assert m.hellinger(p, p) == pytest.approx(0.0, abs=1e-7)


def test_hellinger_is_one_for_disjoint_supports():
    assert m.hellinger(np.array([1.0, 2.0, 0.0, 0.0]), np.array([0.0, 0.0, 3.0, 1.0])) == 1.0


def test_hellinger_of_gaussians_matches_closed_form():
    # H^2 = 1 - sqrt(2 s1 s2 / (s1^2 + s2^2)) exp(-(m1 - m2)^2 / (4 (s1^2 + s2^2)))
    m1, s1, m2, s2 = 2.0, 2.5, 3.0, 3.0
    h2 = 1 - math.sqrt(2 * s1 * s2 / (s1 ** 2 + s2 ** 2)) * math.exp(
        -(m1 - m2) ** 2 / (4 * (s1 ** 2 + s2 ** 2)))
    got = m.hellinger(gaussian_bins(m1, s1, EDGES), gaussian_bins(m2, s2, EDGES))
    assert got == pytest.approx(math.sqrt(h2), rel=1e-3)


# ---- ensemble RMSE -------------------------------------------------------------------

def test_ensemble_mean_rmse_perfect_and_known_errors():
    rng = np.random.default_rng(5)
    truth = rng.normal(size=(6, 10, 8))
    perfect = np.repeat(truth[:, None], 4, axis=1)
    np.testing.assert_array_equal(m.ensemble_mean_rmse(truth, perfect), np.zeros(10))
    # members truth +- d: the ensemble mean is exact although each member is wrong
    d = rng.normal(size=(6, 1, 10, 8))
    pair = np.concatenate([truth[:, None] + d, truth[:, None] - d], axis=1)
    np.testing.assert_allclose(m.ensemble_mean_rmse(truth, pair), 0.0, atol=1e-14)
    # a constant offset growing with lead
    offset = np.arange(10.0)[None, None, :, None]
    np.testing.assert_allclose(m.ensemble_mean_rmse(truth, perfect + offset), np.arange(10.0),
                               atol=1e-12)
    spread = m.ensemble_spread(pair)
    assert spread.shape == (10,) and np.all(spread > 0)
    np.testing.assert_allclose(m.ensemble_spread(perfect), 0.0, atol=1e-12)


def test_ensemble_mean_rmse_shape_errors():
    with pytest.raises(ValueError, match="ninit, nens, nlead, K"):
        m.ensemble_mean_rmse(np.zeros((3, 5, 8)), np.zeros((3, 2, 4, 8)))
    with pytest.raises(ValueError, match="ninit, nens, nlead, K"):
        m.ensemble_mean_rmse(np.zeros((3, 5, 8)), np.zeros((3, 5, 8)))


def test_metric_registry():
    assert m.get_metric("kl") is m.kl_divergence
    assert {"r2", "kl", "hellinger", "ensemble_mean_rmse"} <= set(m.available_metrics())
    with pytest.raises(ValueError, match="valid names are: .*hellinger"):
        m.get_metric("klx")


def test_metrics_do_not_import_torch():
    import subprocess
    import sys
    code = ("import sys; import climlearn.testbeds.lorenz96.metrics; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
